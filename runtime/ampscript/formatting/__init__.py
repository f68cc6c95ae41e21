"""Culture-aware formatting of numbers and dates, the way Marketing Cloud (.NET) formats them."""
