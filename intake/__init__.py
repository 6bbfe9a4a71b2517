"""The inbox: submissions as they land (sealed files and the status ledger), reporting periods, agreements."""
