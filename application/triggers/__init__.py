"""Webhook triggers: a public URL per trigger that starts a run of its workflow.

`records` holds what is stored, `rules` what a trigger's settings may be, `signatures`
how a request is verified, `requests` how a request becomes a run's input, `rate_limits`
the per-process token buckets, and `waiting` how a hook waits for a node's output.
"""
