"""The benchmark email written by hand in Python: the fastest the same output can be made."""


def render(subscriber: dict) -> str:
    tier = subscriber["Tier"]
    if tier == "gold":
        label = "Gold member"
    elif tier == "silver":
        label = "Silver member"
    else:
        label = "Member"
    total = subscriber["Total"]
    parts = ["<html><body>\n<h1>Hello ", subscriber["FirstName"], "!</h1>\n<p>", label, "</p>\n<ul>\n"]
    for i in range(1, 21):
        parts.append(f"<li>{'item'.upper()}-{i + 100}</li>\n")
    parts.append(f"</ul>\n<p>Total: {total:,.2f}</p>\n<p>{'Big spender' if total > 100 else 'Thanks'}</p>\n</body></html>\n")
    return "".join(parts)
