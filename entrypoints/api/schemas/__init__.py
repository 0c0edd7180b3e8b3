"""Request and response bodies (msgspec Structs): requests reject unknown fields."""
