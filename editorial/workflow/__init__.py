"""The workflow: the one door for every change of state (articles, invitations, reviews, signatures).

Each service checks the policy (``permissions``), locks the rows it changes, fires the state
machine, writes history with the acting user and a reason, and records its events in the
outbox (``events``), all in one transaction. Nothing here imports the notification pipeline,
the reads, or any door above it (docs/architecture.md).
"""
