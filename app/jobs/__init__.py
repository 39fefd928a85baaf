"""Jobs: the Redis job store and its Lua scripts, events and their fan-out, the submit service, and running a job on a worker."""
