"""The PostgreSQL repositories of the unit-of-work port, one module per group of tables."""
