"""The home page: each tenant a person can see, its backups, schedule and restores at a glance."""
