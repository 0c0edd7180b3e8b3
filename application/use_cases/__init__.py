"""The use cases: one per module, each a frozen request and a class with one method."""
