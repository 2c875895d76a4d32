"""Bearer-token authentication and role guards."""
