"""Node executors that reach the network (HTTP request, AI prompt) and the guard they share.

Build one `NetworkGuard` from the operator's allowlist, one client with
`guarded_client(guard)`, and hand that client to both executors; close it on shutdown.
"""
