"""The store: the SDK's tables, their migrations and the connection to them."""
