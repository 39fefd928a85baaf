"""Lua scripts behind every job state change that must not race.

Each runs atomically in Redis: the job hash, the queue index and the final
event in the job's stream always agree, whatever crashes in between.
"""

from app.webhooks.outbox import ENQUEUE_LUA

# Shared helpers: event n is stream entry 0-(n+1) (see app/events.py).
_HELPERS = (
    ENQUEUE_LUA
    + """
local function next_index(stream)
  local last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
  if #last == 0 then return 0 end
  return tonumber(string.match(last[1][1], '%-(%d+)$'))
end
local function publish(stream, n, body)
  redis.call('XADD', stream, '0-' .. (n + 1), 'data', body)
  redis.call('PUBLISH', stream, n .. ' ' .. body)
end
-- An ended job keeps, for its ttl, what its owner reads (status, tenant, and one compact JSON
-- 'record' of request, output, usage, timings ...) and drops what only a live job needs; its event
-- stream is kept 'events_ttl' seconds more (set at submit; the job ttl for a job without it).
-- (The worker stays: the record says which worker ran the job.)
local LIVE_ONLY = {id = true, queue_score = true, deadline_at = true, requeued_at = true,
  cancel_requested = true, events_ttl = true, followers = true, webhook_ttl = true}
local TOP = {status = true, tenant = true, cache_ticket = true, owner_cancelled = true, follows = true}
local function settle(job)
  local all = redis.call('HGETALL', job)
  local record, top = {}, {}
  for i = 1, #all, 2 do
    local field, value = all[i], all[i + 1]
    if TOP[field] then
      table.insert(top, field)
      table.insert(top, value)
    elseif not LIVE_ONLY[field] then
      record[field] = value
    end
  end
  -- a new hash: one built field by field keeps the bucket array of its largest size
  redis.call('DEL', job)
  redis.call('HSET', job, 'record', cjson.encode(record), unpack(top))
end
local function finalize(job, stream, ttl, body)
  -- an ended job no longer counts against its tenant's active jobs (<prefix>:active:<tenant>)
  local prefix, id = string.match(job, '^(.*):job:([^:]*)$')
  redis.call('ZREM', prefix .. ':active:' .. (redis.call('HGET', job, 'tenant') or ''), id)
  -- nor in its model's queued + running jobs (routing.ModelKeys.jobs: what autoscaling counts)
  local model = redis.call('HGET', job, 'model')
  if model then redis.call('ZREM', prefix .. ':model:' .. model .. ':jobs', id) end
  local events_ttl = redis.call('HGET', job, 'events_ttl') or ttl
  -- its webhook's event, in the same step: an end is never unannounced (app/webhooks/outbox.py)
  local hook = redis.call('HGET', job, 'webhook')
  if hook then
    local status = redis.call('HGET', job, 'status')
    if redis.call('HGET', job, 'owner_cancelled') == '1' then status = 'cancelled' end  -- as its owner sees it
    enqueue_webhook(prefix, id, 'job.' .. status, hook, redis.call('HGET', job, 'tenant') or '',
      redis.call('HGET', job, 'finished_at') or '0', redis.call('HGET', job, 'webhook_ttl') or ttl)
  end
  settle(job)
  redis.call('EXPIRE', job, ttl)
  publish(stream, next_index(stream), body)
  redis.call('EXPIRE', stream, events_ttl)
end
"""
)

# KEYS: job, queued zset, worker key prefix, stream, leases zset, started counter (the drain rate).
# ARGV: job id, now, worker id, ttl, final event for a job cancelled while it waited, lease expiry,
# final event for a job whose deadline passed while it waited.
# Returns {"started", request, created_at} or {why the job must not run}. A running job is
# someone else's while its worker beats and its lease holds.
START = (
    _HELPERS
    + """
local status = redis.call('HGET', KEYS[1], 'status')
redis.call('ZREM', KEYS[2], ARGV[1])
if not status then return {'missing'} end
if status == 'running' then
  local owner = redis.call('HGET', KEYS[1], 'worker')
  local lease = redis.call('ZSCORE', KEYS[5], ARGV[1])
  local alive = owner and redis.call('EXISTS', KEYS[3] .. owner) == 1
  if owner and owner ~= ARGV[3] and alive and (not lease or tonumber(lease) > tonumber(ARGV[2])) then
    return {'running_elsewhere'}
  end
elseif status ~= 'queued' then
  return {status}
end
local deadline = redis.call('HGET', KEYS[1], 'deadline_at')
if status == 'queued' and deadline and tonumber(deadline) <= tonumber(ARGV[2]) then
  -- its deadline passed while it waited (before the sweeper saw it): it never runs
  redis.call('HSET', KEYS[1], 'status', 'expired', 'finish_reason', 'expired', 'finished_at', ARGV[2])
  finalize(KEYS[1], KEYS[4], ARGV[4], ARGV[7])
  return {'expired'}
end
if redis.call('HGET', KEYS[1], 'cancel_requested') == '1' then
  -- cancelled while its worker was dying: end it here
  redis.call('ZREM', KEYS[5], ARGV[1])
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'finish_reason', 'cancelled', 'finished_at', ARGV[2])
  finalize(KEYS[1], KEYS[4], ARGV[4], ARGV[5])
  return {'cancelled'}
end
redis.call('HDEL', KEYS[1], 'output', 'finish_reason', 'usage', 'timings', 'error')
redis.call('HSET', KEYS[1], 'status', 'running', 'started_at', ARGV[2], 'worker', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('ZADD', KEYS[5], ARGV[6], ARGV[1])
redis.call('INCR', KEYS[6])
return {'started', redis.call('HGET', KEYS[1], 'request'), redis.call('HGET', KEYS[1], 'created_at')}
"""
)

# KEYS: job, stream, leases zset. ARGV: ttl, worker id, last token event ('' for none), final event,
# job id, field, value, ... Only the running owner may finish a job; returns 1 if it did.
FINISH = (
    _HELPERS
    + """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' or redis.call('HGET', KEYS[1], 'worker') ~= ARGV[2] then
  return 0
end
redis.call('ZREM', KEYS[3], ARGV[5])
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
if ARGV[3] ~= '' then publish(KEYS[2], next_index(KEYS[2]), ARGV[3]) end
finalize(KEYS[1], KEYS[2], ARGV[1], ARGV[4])
return 1
"""
)

# Cancelling a job: a queued one ends at once; a running one is flagged and its worker told.
_CANCEL_JOB = """
local function cancel_job(job, queued, stream, id, now, ttl, final, channel)
  local status = redis.call('HGET', job, 'status')
  if not status then return 'missing' end
  if status == 'queued' then
    redis.call('ZREM', queued, id)
    redis.call('HSET', job, 'status', 'cancelled', 'finish_reason', 'cancelled', 'finished_at', now)
    finalize(job, stream, ttl, final)
    return 'dequeued'
  end
  if status == 'running' then
    redis.call('HSET', job, 'cancel_requested', '1')
    redis.call('PUBLISH', channel, id)
    return 'cancelling'
  end
  return status
end
"""

# KEYS: job, queued zset, stream. ARGV: job id, now, ttl, final event, cancel channel.
# A job that coalesced followers keeps running for them: its own client is detached
# (it sees the job cancelled) and the work stops only when the last follower cancels too.
CANCEL = (
    _HELPERS
    + _CANCEL_JOB
    + """
local status = redis.call('HGET', KEYS[1], 'status')
if (status == 'queued' or status == 'running') and tonumber(redis.call('HGET', KEYS[1], 'followers') or '0') > 0 then
  if redis.call('HGET', KEYS[1], 'owner_cancelled') == '1' then return 'cancelled' end
  redis.call('HSET', KEYS[1], 'owner_cancelled', '1', 'finished_at', ARGV[2])
  return 'detached'
end
return cancel_job(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
"""
)

# KEYS: follower job, leader job, queued zset, leader stream.
# ARGV: leader id, now, ttl, final event, cancel channel.
# A follower stops following; the leader stops if nobody else wants its answer.
CANCEL_FOLLOWER = (
    _HELPERS
    + _CANCEL_JOB
    + """
local own = redis.call('HGET', KEYS[1], 'status')
if not own then return 'missing' end
if own ~= 'following' then return own end
local leader = redis.call('HGET', KEYS[2], 'status')
if leader ~= 'queued' and leader ~= 'running' then return leader or 'missing' end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'finish_reason', 'cancelled', 'finished_at', ARGV[2])
local left = redis.call('HINCRBY', KEYS[2], 'followers', -1)
if left <= 0 and redis.call('HGET', KEYS[2], 'owner_cancelled') == '1' then
  cancel_job(KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
end
return 'dequeued'
"""
)

# KEYS: follower job, leader job, the tenant's listing. ARGV: follower fields (field, value, ...), ttl.
# Follow the leader while it is queued or running, or once it succeeded (its answer is this
# request's answer too: this closes the moment between its end and its answer reaching the
# cache). Returns 1 if following, 0 if it failed or was cancelled, -1 if its record does not
# exist yet (it claimed the work a moment ago).
FOLLOW = """
local leader = redis.call('HGET', KEYS[2], 'status')
if not leader then return -1 end
if leader ~= 'queued' and leader ~= 'running' and leader ~= 'succeeded' then return 0 end
if redis.call('HGET', KEYS[2], 'owner_cancelled') == '1' then return 0 end
redis.call('HINCRBY', KEYS[2], 'followers', 1)
redis.call('HSET', KEYS[1], unpack(ARGV, 1, #ARGV - 1))
redis.call('EXPIRE', KEYS[1], ARGV[#ARGV])
redis.call('ZADD', KEYS[3], redis.call('HGET', KEYS[1], 'created_at'), redis.call('HGET', KEYS[1], 'id'))
return 1
"""

# KEYS: job, queued zset, deadlines zset, the tenant's active zset, the model's jobs zset, the tenant's listing. ARGV: most
# jobs queued (0: no bound), ttl, queue score, job id, deadline ('' for none), the tenant's most
# active jobs (0: no cap), now, field, value, ... The bounds' checks and the enqueue are one step:
# API processes submitting at once never overshoot them. Returns 1 if queued, 0 if the queue is
# full, -1 if the tenant has its most jobs queued or running.
CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 2 end  -- a batch line's fixed id, submitted before
if tonumber(ARGV[1]) > 0 and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[1]) then return 0 end
if tonumber(ARGV[6]) > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', tonumber(ARGV[7]) - tonumber(ARGV[2]))  -- records long expired
  if redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[6]) then return -1 end
end
redis.call('ZADD', KEYS[4], ARGV[7], ARGV[4])
-- the model's queued + running jobs (finalize removes a job that ends; a record that expired unended, here)
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', tonumber(ARGV[7]) - tonumber(ARGV[2]))
redis.call('ZADD', KEYS[5], ARGV[7], ARGV[4])
redis.call('HSET', KEYS[1], unpack(ARGV, 8))
redis.call('EXPIRE', KEYS[1], ARGV[2])
-- the tenant's listing: its entries live as long as their records (those long expired leave here)
redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', tonumber(ARGV[7]) - tonumber(ARGV[2]))
redis.call('ZADD', KEYS[6], ARGV[7], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
if ARGV[5] ~= '' then redis.call('ZADD', KEYS[3], ARGV[5], ARGV[4]) end
return 1
"""

# KEYS: deadlines zset, queued zset, job key prefix, events key prefix.
# ARGV: now, most jobs per call, ttl, final event. A queued job whose deadline passed ends
# "expired" (it never runs; its stream shows it at once); a running one is its worker's to stop.
EXPIRE_DUE = (
    _HELPERS
    + """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local expired = {}
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  local job = KEYS[3] .. id
  if redis.call('HGET', job, 'status') == 'queued' then
    redis.call('ZREM', KEYS[2], id)
    redis.call('HSET', job, 'status', 'expired', 'finish_reason', 'expired', 'finished_at', ARGV[1])
    finalize(job, KEYS[4] .. id, ARGV[3], ARGV[4])
    table.insert(expired, id)
  end
end
return expired
"""
)

# KEYS: job. Returns the job's cache ticket and leaves only its exact key (JobStore.take_cache_ticket).
TAKE_TICKET = """
local ticket = redis.call('HGET', KEYS[1], 'cache_ticket')
if not ticket then return false end
local exact = cjson.decode(ticket).exact
if exact then redis.call('HSET', KEYS[1], 'cache_ticket', cjson.encode({exact = exact})) end
return ticket
"""

# KEYS: leases zset (every running job). ARGV: job key prefix. Returns model, count, ... of the running
# jobs: read when /metrics is scraped. Running jobs are few (at most the live workers' slots), so
# this stays cheap however long the queues are.
COUNT_RUNNING = """
local counts = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local model = redis.call('HGET', ARGV[1] .. id, 'model')
  if model then counts[model] = (counts[model] or 0) + 1 end
end
local flat = {}
for model, n in pairs(counts) do
  table.insert(flat, model)
  table.insert(flat, n)
end
return flat
"""
