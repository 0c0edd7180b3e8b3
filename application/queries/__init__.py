"""Reads for the API and the console, every one scoped to a workspace.

Another workspace's resource is reported exactly like a missing one (NotFound), so a
caller cannot learn that an id exists elsewhere.
"""
