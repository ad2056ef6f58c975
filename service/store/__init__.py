"""Storage: table definitions, engines and every SQL statement rivalwatch runs."""
