"""Fleets: one migration set applied to many D1 databases (database per tenant).

Layers, as elsewhere: ``model`` (frozen data), ``planning`` (pure: shards, stages,
pending files, the request estimate), ``sql`` (pure: the exact read and write
batches, with the write's compare-and-swap on the ledger), ``members`` (who is
in the fleet: the API list, or an ids file), ``rollout`` (execution: stages in
parallel, under the request budget) and ``service`` (glue for the CLI).

Requests are the speed on D1 (1,200 per 5 minutes per token): a member that is
up to date costs one request (the read), a member with pending migrations two
(the read and one atomic write that carries every pending migration, its ledger
rows, the compare-and-swap, and a final read of the schema it produced).
"""
