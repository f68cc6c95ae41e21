"""Where API calls go: the embedded simulator (default) or a real tenant."""

from .base import Backend, CallResult, RetrieveResult

__all__ = ["Backend", "CallResult", "RetrieveResult"]
