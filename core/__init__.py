"""What every app shares: the API error shape and handler, the health check registry,
request parameter parsing, and setting up a fresh installation (schedules, bootstrap).

`core` imports none of the other apps; they build on it."""
