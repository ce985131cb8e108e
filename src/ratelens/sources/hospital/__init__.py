"""Hospital standard-charge files (45 CFR 180; CMS template v2 and v3: CSV tall, CSV wide, JSON)."""
