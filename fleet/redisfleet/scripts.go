package redisfleet

// The steps of the fleet record, one Lua script each, run by EVALSHA. Each
// reads the time from the server (TIME), so that every open period and
// lease is measured on one clock, and touches only the keys of one
// circuit, which share a hash tag: in a Redis Cluster each script runs on
// the one node that holds them.
//
// KEYS: 1 the record (a hash), 2 the probe leases (a sorted set, scored by
// expiry), 3 the trips (a sorted set of instances, scored by time), 4 the
// counts (a hash of bucket:kind → count), 5 the instances that closed on
// their own probes while the record was half-open (a set), 6 what the
// record took from each fleet.Counts.Sender (a hash of sender →
// "successes:failures:µs", kept across transitions and lost with the
// record).
//
// ARGV: 1 protocol version, 2 an incarnation id for a record created now,
// 3 Quorum, 4 QuorumWindow µs, 5 OpenTimeout µs, 6 BackoffFactor, 7
// BackoffMax µs, 8 Probes, 9 ProbeTimeout µs, 10 FailureRate, 11
// MinCalls, 12 RateWindow µs, 13 Retention ms, 14 the circuit's name, 15
// the events channel, 16 an offset in µs added to the server's time (0,
// except in this package's tests of a real server, whose clock they cannot
// set), 17 the fingerprint of the rules (fleet.Params.Rules); from 18 on,
// the step's own arguments.
//
// Times are integers of microseconds, which a Lua number (a double) holds
// exactly until the year 2255. They are written with string.format('%.0f')
// because Lua's own number-to-string conversion keeps only 14 digits.
//
// A script that finds a record it cannot read (a field that is not a
// number, a newer protocol version) changes nothing and fails with an
// error reply starting "TWBAD" or "TWVERSION", which the client turns into
// a fleet.RecordError.
//
// Reply: {verdict, version, incarnation, generation, state (0 closed, 1
// open, 2 half-open), mode, remaining µs, opens, probing, succeeded,
// rules}, all strings.
//
// A fraction is compared divided (failed / total >= rate), as policy.Rate
// compares it: 0.55 * 100 is a hair above 55, so 55 failures of 100 would
// miss a rate of 0.55 multiplied.
const prelude = `
local PROTO = tonumber(ARGV[1])
local A = ARGV
local K_REC, K_LEASE, K_TRIP, K_CNT, K_DONE = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2]) + tonumber(A[16])
local function f(n) return string.format('%.0f', n) end
local p = {quorum = tonumber(A[3]), qwin = tonumber(A[4]), open = tonumber(A[5]),
  factor = tonumber(A[6]), bmax = tonumber(A[7]), probes = tonumber(A[8]),
  ptime = tonumber(A[9]), rate = tonumber(A[10]), minc = tonumber(A[11]),
  rwin = tonumber(A[12]), keep = tonumber(A[13])}
local r = {}
local raw = redis.call('HGETALL', K_REC)
if #raw == 0 then
  r = {v = PROTO, inc = A[2], gen = 1, open = 0, mode = 0, upto = 0, opens = 0, ok = 0, rules = A[17]}
  redis.call('DEL', K_LEASE, K_TRIP, K_CNT, K_DONE, KEYS[6])
else
  local h = {}
  for i = 1, #raw, 2 do h[raw[i]] = raw[i + 1] end
  local v = tonumber(h['v'])
  if v == nil or v < 1 or v ~= math.floor(v) or v > 9007199254740992 then
    return redis.error_reply('TWBAD v ' .. tostring(h['v']))
  end
  if v > PROTO then return redis.error_reply('TWVERSION ' .. h['v']) end
  r.v = PROTO
  local names = {gen = 'gen', open = 'open', mode = 'mode', upto = 'until', opens = 'opens', ok = 'ok'}
  for k, field in pairs(names) do
    local n = tonumber(h[field])
    if n == nil or n < 0 or n ~= math.floor(n) or n > 9007199254740992 then
      return redis.error_reply('TWBAD ' .. field .. ' ' .. tostring(h[field]))
    end
    r[k] = n
  end
  if r.open > 1 then return redis.error_reply('TWBAD open ' .. h['open']) end
  if r.mode > 2 then return redis.error_reply('TWBAD mode ' .. h['mode']) end
  if r.gen < 1 then return redis.error_reply('TWBAD gen ' .. h['gen']) end
  if h['inc'] == nil or h['inc'] == '' then return redis.error_reply('TWBAD inc empty') end
  r.inc = h['inc']
  r.rules = h['rules'] or ''
end
local gen0 = r.gen

local function clear()
  r.ok = 0
  r.rules = A[17]
  redis.call('DEL', K_LEASE, K_TRIP, K_CNT, K_DONE)
end
local function openfor(opens)
  local d = p.open
  local i = 1
  while i < opens and d < p.bmax do d = d * p.factor; i = i + 1 end
  if p.bmax > 0 and d > p.bmax then d = p.bmax end
  -- the longest Duration, in µs: the client reads no more
  if d > 9223372036854775 then d = 9223372036854775 end
  return math.floor(d)
end
local function open_now(opens)
  -- An end past 2^53 µs (the year 2255) is not a number the record can
  -- hold exactly: the longest periods end there.
  r.gen = r.gen + 1; r.open = 1; r.opens = opens; r.upto = math.min(now + openfor(opens), 9007199254740992)
  clear()
end
local function close_now()
  r.gen = r.gen + 1; r.open = 0; r.opens = 0; r.upto = 0
  clear()
end
local function live()
  redis.call('ZREMRANGEBYSCORE', K_LEASE, '-inf', f(now))
  return redis.call('ZCARD', K_LEASE)
end
local function finish(verdict)
  redis.call('HSET', K_REC, 'v', f(r.v), 'inc', r.inc, 'gen', f(r.gen), 'open', f(r.open),
    'mode', f(r.mode), 'until', f(r.upto), 'opens', f(r.opens), 'ok', f(r.ok), 'rules', r.rules)
  if p.keep > 0 then
    for _, k in ipairs({K_REC, K_LEASE, K_TRIP, K_CNT, K_DONE}) do redis.call('PEXPIRE', k, f(p.keep)) end
  end
  local probing = live()
  local st, rem = 0, 0
  if r.open == 1 then
    if r.mode == 1 then st = 1
    elseif now < r.upto then st = 1; rem = r.upto - now
    else st = 2 end
  end
  local out = {f(verdict), f(r.v), r.inc, f(r.gen), f(st), f(r.mode), f(rem), f(r.opens), f(probing), f(r.ok), r.rules}
  if r.gen ~= gen0 then
    local ev = {}
    for i = 2, #out do ev[#ev + 1] = out[i] end
    ev[#ev + 1] = A[14]
    redis.call('PUBLISH', A[15], table.concat(ev, '|'))
  end
  return out
end
`

// tripScript: 18 instance, 19 known incarnation, 20 known generation. A
// half-open record counts trips as a closed one does, and reopens at the
// quorum.
const tripScript = prelude + `
if r.mode == 0 and (r.open == 0 or now >= r.upto) and not (A[19] == r.inc and tonumber(A[20]) < r.gen) then
  redis.call('ZADD', K_TRIP, f(now), A[18])
  redis.call('ZREMRANGEBYSCORE', K_TRIP, '-inf', f(now - p.qwin))
  if redis.call('ZCARD', K_TRIP) >= p.quorum then
    if r.open == 1 then open_now(r.opens + 1) else open_now(1) end
  end
end
return finish(0)
`

// closedScript: 18 instance, 19 known incarnation, 20 known generation.
const closedScript = prelude + `
if r.open == 1 and r.mode == 0 and now >= r.upto and A[19] == r.inc and tonumber(A[20]) == r.gen then
  redis.call('SADD', K_DONE, A[18])
  if redis.call('SCARD', K_DONE) >= p.quorum then close_now() end
end
return finish(0)
`

// flushScript: 18 successes, 19 failures, 20 the sender (” for counts
// since the last flush), 21 and 22 its acknowledged totals. With a sender,
// 18 and 19 are its totals, and the step adds what exceeds both the
// acknowledged totals and those it took from the sender before
// (fleet.Counts.Take), so that a batch sent again adds nothing twice.
const flushScript = prelude + `
local s, fl = tonumber(A[18]), tonumber(A[19])
if A[20] ~= '' then
  local K_SND = KEYS[6]
  local ls, lf = 0, 0
  local last = redis.call('HGET', K_SND, A[20])
  if last then
    local a, b = string.match(last, '^(%d+):(%d+):')
    ls, lf = tonumber(a) or 0, tonumber(b) or 0
  end
  local ts, tf = s, fl
  s = math.max(ts - math.max(tonumber(A[21]), ls), 0)
  fl = math.max(tf - math.max(tonumber(A[22]), lf), 0)
  redis.call('HSET', K_SND, A[20], f(math.max(ts, ls)) .. ':' .. f(math.max(tf, lf)) .. ':' .. f(now))
  if p.keep > 0 then
    redis.call('PEXPIRE', K_SND, f(p.keep))
    -- senders not heard from for a Retention are forgotten: their next
    -- batch adds what was never acknowledged
    if redis.call('HLEN', K_SND) > 64 then
      local all = redis.call('HGETALL', K_SND)
      for i = 1, #all, 2 do
        local at = tonumber(string.match(all[i + 1], ':(%d+)$'))
        if at == nil or now - at >= p.keep * 1000 then redis.call('HDEL', K_SND, all[i]) end
      end
    end
  end
end
if p.rate > 0 and r.open == 0 and r.mode == 0 then
  local width = math.floor(p.rwin / 10)
  if width < 1 then width = 1 end
  local idx = math.floor(now / width)
  local total, failed = 0, 0
  for _, k in ipairs(redis.call('HKEYS', K_CNT)) do
    local b, kind = string.match(k, '^(%d+):([sf])$')
    local bn = tonumber(b)
    if bn == nil or bn <= idx - 10 then
      redis.call('HDEL', K_CNT, k)
    else
      local n = tonumber(redis.call('HGET', K_CNT, k)) or 0
      total = total + n
      if kind == 'f' then failed = failed + n end
    end
  end
  if s + fl > 0 then
    redis.call('HINCRBY', K_CNT, f(idx) .. ':s', f(s))
    redis.call('HINCRBY', K_CNT, f(idx) .. ':f', f(fl))
    total = total + s + fl
    failed = failed + fl
  end
  if total > 0 and total >= p.minc and failed / total >= p.rate then open_now(1) end
end
return finish(0)
`

// acquireScript: 18 incarnation, 19 generation, 20 lease. Verdicts as
// fleet.Verdict: 1 admit, 2 full, 3 reopened, 4 not due, 5 stale.
const acquireScript = prelude + `
local v
if A[18] ~= r.inc or tonumber(A[19]) ~= r.gen or r.open == 0 then
  if r.open == 1 then v = 3 else v = 5 end
elseif r.mode == 1 then v = 3
elseif now < r.upto then v = 4
elseif live() + r.ok >= p.probes then v = 2
else
  redis.call('ZADD', K_LEASE, f(now + p.ptime), A[20])
  v = 1
end
return finish(v)
`

// reportScript: 18 incarnation, 19 generation, 20 lease, 21 outcome (s,
// f or i).
const reportScript = prelude + `
if A[18] == r.inc and tonumber(A[19]) == r.gen and r.open == 1 then
  live()
  if redis.call('ZREM', K_LEASE, A[20]) == 1 then
    if A[21] == 's' then
      r.ok = r.ok + 1
      if r.ok >= p.probes then close_now() end
    elseif A[21] == 'f' then
      open_now(r.opens + 1)
    end
  end
end
return finish(0)
`

// forceScript: 18 mode.
const forceScript = prelude + `
close_now()
r.mode = tonumber(A[18])
if r.mode == 1 then r.open = 1 end
return finish(0)
`
