"""What every domain uses: configuration, the database and its sessions, errors, logs,
metrics, middleware, pagination, query parameters, text types, geography, replica routing."""
