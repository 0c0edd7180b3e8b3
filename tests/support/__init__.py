"""Helpers shared by test folders: test databases and the like."""
