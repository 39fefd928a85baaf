"""Lua scripts of job leases: a worker renews the leases of the jobs it runs; a lapsed lease puts its job back in
the queue (app/jobs/leases.py)."""

# KEYS: leases zset, job key prefix. ARGV: worker id, new expiry, job id, ...
# Extend the leases of the jobs a worker runs; returns those that are no longer its own (taken
# over after its lease lapsed, or ended): the worker stops generating them.
RENEW = """
local lost = {}
for i = 3, #ARGV do
  local job = KEYS[2] .. ARGV[i]
  if redis.call('HGET', job, 'status') == 'running' and redis.call('HGET', job, 'worker') == ARGV[1] then
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[i])
  else
    table.insert(lost, ARGV[i])
  end
end
return lost
"""

# KEYS: leases zset, queued zset, job key prefix. ARGV: now, most jobs per call.
# Put every running job whose lease lapsed back in the queue (at its own score: priority, then
# submit time, so it keeps its place); each is returned (id, queue score) to exactly one caller,
# which sends its task again.
REAP = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local requeued = {}
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[1], id)
  local job = KEYS[3] .. id
  if redis.call('HGET', job, 'status') == 'running' then
    redis.call('HSET', job, 'status', 'queued', 'requeued_at', ARGV[1])
    redis.call('HDEL', job, 'worker')
    local score = redis.call('HGET', job, 'queue_score') or redis.call('HGET', job, 'created_at') or ARGV[1]
    redis.call('ZADD', KEYS[2], score, id)
    table.insert(requeued, id)
    table.insert(requeued, score)
  end
end
return requeued
"""
