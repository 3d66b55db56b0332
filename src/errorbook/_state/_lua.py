"""The Redis store's Lua scripts: each store call is one of these, one round trip.

They mirror ``_algorithms.py`` line for line, in integer microseconds, so memory and Redis
answer alike. Time is the server's (``TIME``), so app hosts with skewed clocks agree, plus
``ARGV[1]``, an offset in microseconds that is always 0 except in tests that move time
forward. Stored times are written with ``%.0f`` so no number is ever shortened to
exponent notation. Every key gets a PEXPIRE at the moment its state stops mattering, so
Redis cleans up after us; the logic never relies on expiry having happened.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

__all__ = ["ACQUIRE", "ABANDON", "BEGIN", "COMPLETE", "DECIDE", "RENEW", "Script"]


@dataclass(frozen=True)
class Script:
    """A Lua script and its SHA1, the name EVALSHA calls it by."""

    source: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.source.encode()).hexdigest())


_PRELUDE = """
local function num(x) return string.format('%.0f', x) end
local function ms(us) return num(math.max(math.ceil(us / 1000), 1)) end
local function fdiv(a, b)
  local q = math.floor(a / b)
  if q * b > a then q = q - 1 elseif (q + 1) * b <= a then q = q + 1 end
  return q
end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2]) + tonumber(ARGV[1])
"""

#: KEYS: one per limit. ARGV: offset, cost, then per limit its ``Limit.key`` (algorithm
#: letter, amount, period in µs, burst: one short string, cheaper to send than four numbers
#: and parsed once per call). Returns one string of integers: all allowed, then per limit:
#: allowed, remaining, reset, retry after (one bulk string parses far faster in redis-py
#: than an array of integers: about 2 µs against 10). Writes happen only when every limit
#: admits the cost.
DECIDE = Script(
    _PRELUDE
    + """
local cost = tonumber(ARGV[2])
local limits = {}
for i = 1, #KEYS do
  -- Limit.key: algorithm letter, amount, period in µs, burst ("g100/60000000b100").
  local algo, amount, period, burst = string.match(ARGV[2 + i], '^(%a)(%d+)/(%d+)b(%d+)$')
  limits[i] = {algo, tonumber(amount), tonumber(period), tonumber(burst)}
end
local function evaluate(i, cost)
  local algo, amount, period = limits[i][1], limits[i][2], limits[i][3]
  local key = KEYS[i]
  if algo == 'g' then
    -- Microseconds per unit, rounded up, as Limit.interval_us.
    local interval = fdiv(period + amount - 1, amount)
    local tau = limits[i][4] * interval
    local tat = tonumber(redis.call('GET', key))
    if not tat or tat < now then tat = now end
    local new = tat + cost * interval
    if new - tau <= now then
      return 1, fdiv(tau - (new - now), interval), new - now, 0, {'g', new - now, new}
    end
    return 0, fdiv(tau - (tat - now), interval), tat - now, new - tau - now
  elseif algo == 'f' then
    local h = redis.call('HMGET', key, 's', 'c')
    local start, count = tonumber(h[1]), tonumber(h[2])
    if not start or now >= start + period then start, count = now, 0 end
    local stop = start + period
    if count + cost <= amount then
      count = count + cost
      local reset = 0
      if count > 0 then reset = stop - now end
      return 1, amount - count, reset, 0, {'f', stop - now, 's', num(start), 'c', num(count)}
    end
    return 0, amount - count, stop - now, stop - now
  end
  local h = redis.call('HMGET', key, 'w', 'c', 'p')
  local window = fdiv(now, period)
  local left = period - (now - window * period)
  local stored, current, previous = tonumber(h[1]), 0, 0
  if stored == window then
    current, previous = tonumber(h[2]), tonumber(h[3])
  elseif stored == window - 1 then
    previous = tonumber(h[2])
  end
  local estimate = previous * left / period + current
  if estimate + cost <= amount then
    current = current + cost
    local reset = 0
    if current > 0 then reset = left + period elseif previous > 0 then reset = left end
    return 1, math.floor(amount - (estimate + cost)), reset, 0,
      {'s', (window + 2) * period - now, 'w', num(window), 'c', num(current), 'p', num(previous)}
  end
  local reset = left
  if current > 0 then reset = left + period end
  local wait
  if current + cost <= amount then
    wait = left - (amount - current - cost) * period / previous
  else
    wait = left + math.max(period - (amount - cost) * period / current, 0)
  end
  return 0, math.max(math.floor(amount - estimate), 0), reset, math.ceil(wait)
end
local result = {1}
local writes = {}
for i = 1, #KEYS do
  local allowed, remaining, reset, retry, write = evaluate(i, cost)
  if allowed == 0 then result[1] = 0 end
  writes[i] = write
  result[#result + 1] = allowed
  result[#result + 1] = remaining
  result[#result + 1] = reset
  result[#result + 1] = retry
end
if result[1] == 0 then
  -- Refused: limits that would have admitted the cost consume nothing, so report them as
  -- they stand (what a peek, cost 0, answers).
  for i = 1, #KEYS do
    local at = 2 + (i - 1) * 4
    if result[at] == 1 then
      local _, remaining, reset = evaluate(i, 0)
      result[at + 1], result[at + 2] = remaining, reset
    end
  end
end
if result[1] == 1 and cost > 0 then
  for i = 1, #KEYS do
    local w = writes[i]
    if w[1] == 'g' then
      redis.call('SET', KEYS[i], num(w[3]), 'PX', ms(w[2]))
    else
      redis.call('HSET', KEYS[i], unpack(w, 3))
      redis.call('PEXPIRE', KEYS[i], ms(w[2]))
    end
  end
end
for i = 1, #result do result[i] = num(result[i]) end
return table.concat(result, ' ')
"""
)

_EXPIRE_AT_LAST_LEASE = """
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], ms(tonumber(last[2]) - now))
"""

#: KEYS: the lease set. ARGV: offset, limit, ttl (µs), token. Returns {acquired, held}.
ACQUIRE = Script(
    _PRELUDE
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', num(now))
local held = redis.call('ZCARD', KEYS[1])
if held >= tonumber(ARGV[2]) then return {0, held} end
redis.call('ZADD', KEYS[1], num(now + tonumber(ARGV[3])), ARGV[4])
"""
    + _EXPIRE_AT_LAST_LEASE
    + """
return {1, held + 1}
"""
)

#: KEYS: the lease set. ARGV: offset, ttl (µs), token. Returns 1 if renewed.
RENEW = Script(
    _PRELUDE
    + """
local at = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[3]))
if not at or at <= now then return 0 end
redis.call('ZADD', KEYS[1], num(now + tonumber(ARGV[2])), ARGV[3])
"""
    + _EXPIRE_AT_LAST_LEASE
    + """
return 1
"""
)

#: KEYS: the record. ARGV: offset, fingerprint, token, lock ttl (µs). Returns {0} started,
#: {1, lock left µs} in flight, {2} mismatch, {3, status, headers, body} replay.
BEGIN = Script(
    _PRELUDE
    + """
local r = redis.call('HMGET', KEYS[1], 'f', 'e', 's', 'h', 'b')
if not r[1] or tonumber(r[2]) <= now then
  local ttl = tonumber(ARGV[4])
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'f', ARGV[2], 't', ARGV[3], 'e', num(now + ttl))
  redis.call('PEXPIRE', KEYS[1], ms(ttl))
  return {0}
end
if r[1] ~= ARGV[2] then return {2} end
if not r[3] then return {1, tonumber(r[2]) - now} end
return {3, r[3], r[4], r[5]}
"""
)

#: KEYS: the record. ARGV: offset, token, retention (µs), status, headers, body.
#: Returns 1 if stored, 0 if the token no longer holds an in-flight record.
COMPLETE = Script(
    _PRELUDE
    + """
local r = redis.call('HMGET', KEYS[1], 't', 'e', 's')
if r[1] ~= ARGV[2] or r[3] or tonumber(r[2]) <= now then return 0 end
local ttl = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'e', num(now + ttl), 's', ARGV[4], 'h', ARGV[5], 'b', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ms(ttl))
return 1
"""
)

#: KEYS: the record. ARGV: offset, token. Deletes the record if the token holds it in flight.
ABANDON = Script(
    """
local r = redis.call('HMGET', KEYS[1], 't', 's')
if r[1] == ARGV[2] and not r[2] then redis.call('DEL', KEYS[1]) end
return 0
"""
)
