"""The Lua of the hot reads: one script, one round trip per read.

Every read first checks, in the same atomic call, that the hot read model may answer:
its checkpoint has reached the caller's last acknowledged write, the client's
``X-Valorize-Min-Position`` (clamped to the highest acknowledged position) and the
highest position this process has seen it answer at, and the caller has nothing parked
in it. Otherwise it answers ``behind`` or ``parked`` and the
query side reads PostgreSQL instead: a hot answer is never older than what its reader
wrote, and never older than the read model it came from (it *is* that read model).

Replies: ``{status, applied, total, data}`` with status ``ok``, ``behind``, ``parked``,
``missing`` (404), ``forbidden`` (403) or ``fallback`` (a shape this model does not
answer cheaply: the SQL read model answers it).
"""

from __future__ import annotations

from string import Template

from shared.contracts import lua_prefixes

# Filters that would make a page scan more candidates than this go to PostgreSQL: a
# hot read stays a few hundred microseconds of Redis time.
SCAN_CAP = 2000
# Kept pages are valid by version, not by age; this only bounds the memory they take.
PAGE_SECONDS = 60

_SOURCE = Template(r"""
local P = {txn='${txn}', user_txns='${user_txns}', account_txns='${account_txns}',
  category_txns='${category_txns}', account='${account}', user_accounts='${user_accounts}',
  category='${category}', owner_categories='${owner_categories}', budget='${budget}',
  user_budgets='${user_budgets}', bank='${bank}', version='${version}'}
local CAP, PAGE_SECONDS = ${cap}, ${page_seconds}

local user, explicit = ARGV[2], tonumber(ARGV[3])
local applied = tonumber(redis.call('GET', '${checkpoint}') or '0')
if explicit > applied then
  local head = tonumber(redis.call('GET', '${head_mark}') or '0')
  if explicit > head then explicit = head end
end
-- The floor: the highest position this process has seen the model answer at (or the
-- SQL model's, when it started). Below it the model went back (flushed, restored): it
-- answers nothing until it has caught up again, so no reader sees it go back.
local floor = tonumber(ARGV[4])
local marked = tonumber(redis.call('GET', '${write_mark}' .. user) or '0')
local required = math.max(marked, explicit, floor)
if required > applied then return {'behind', applied} end
if redis.call('SISMEMBER', '${parked}', user) == 1 then return {'parked', applied} end

-- Rendered listings are kept while the versions of the caller's partition and of the
-- global one stand still (bumped by every projected batch that changes them): a kept
-- page is exactly the one this call would render. The expiry only frees memory. Checked
-- first, so a kept page costs none of what follows (``hot.HotReads`` makes this check with
-- plain commands before calling the script). KEYS[1]: the page's key, given by
-- ``hot.kept_key`` for a read that is kept (none for one resource or a date window).
local query = ARGV[1]
local kept_key, versions = KEYS[1], nil
if kept_key then
  versions = (redis.call('GET', P.version .. user) or '0') .. ':' ..
    (redis.call('GET', P.version .. 'global') or '0')
  local kept = redis.call('HMGET', kept_key, 'v', 't', 'd')
  if kept[1] == versions then return {'ok', applied, tonumber(kept[2]), kept[3]} end
end

${money}
-- Templates hold markers (shared.contracts.MARK): a kind letter and, but for B, a
-- 36-character id. Found with a plain search (memchr-fast; a pattern gsub tries a match
-- at every byte), each document read at most once per call.
local docs, render
local function balance_of(b, y)
  return '{"value":' .. b .. ',"formatted":"' .. formatted(b, y) .. '","currency":"' .. y .. '"}'
end
docs = setmetatable({}, {__index = function(t, key)
  local kind, ref = string.sub(key, 1, 1), string.sub(key, 2)
  local found
  if kind == 'a' then
    local a = redis.call('HMGET', P.account .. ref, 'd', 'b', 'y')
    if a[1] then found = render(a[1], balance_of(a[2], a[3])) end
  elseif kind == 'c' then
    found = redis.call('HGET', P.category .. ref, 'd')
  else
    found = redis.call('GET', P.bank .. ref)
  end
  found = found or 'null'
  t[key] = found
  return found
end})
render = function(doc, balance)
  local parts, n, at = {}, 0, 1
  while true do
    local p = string.find(doc, '${mark}', at, true)
    if not p then break end
    parts[n + 1] = string.sub(doc, at, p - 1)
    if string.byte(doc, p + 1) == 66 then  -- B: the account's balance
      parts[n + 2] = balance
      at = p + 2
    else
      parts[n + 2] = docs[string.sub(doc, p + 1, p + 37)]
      at = p + 38
    end
    n = n + 2
  end
  if n == 0 then return doc end
  parts[n + 1] = string.sub(doc, at)
  return table.concat(parts)
end
local function txn_doc(member)
  return render(redis.call('HGET', P.txn .. string.sub(member, ${id_at}), 'd'))
end

-- Byte order, whatever Redis's locale (the SQL read model's collation is C).
local function before(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- Members sort as their dates then positions: the newest first across sources. (Lua's
-- ``<`` on two members decides on their fixed-width digits, in any locale: members of
-- different sources never share them.)
local function merge(lists, need)
  if #lists == 1 then return lists[1] end
  local out, at = {}, {}
  for i = 1, #lists do at[i] = 1 end
  while #out < need do
    local best, member = nil, nil
    for i, list in ipairs(lists) do
      local m = list[at[i]]
      if m and (member == nil or member < m) then best, member = i, m end
    end
    if best == nil then break end
    out[#out + 1] = member
    at[best] = at[best] + 1
  end
  return out
end

local function page_of(members, offset, per_page)
  local parts = {}
  for i = offset + 1, math.min(#members, offset + per_page) do
    parts[#parts + 1] = txn_doc(members[i])
  end
  return '[' .. table.concat(parts, ',') .. ']'
end

local function transactions()
  local page, per_page = tonumber(ARGV[5]), tonumber(ARGV[6])
  local lo, hi, kind = ARGV[7], ARGV[8], ARGV[9]
  local i = 10
  local accounts, categories, ncat = {}, {}, 0
  local seen_account = {}
  for j = 1, tonumber(ARGV[i]) do
    local id = ARGV[i + j]
    if not seen_account[id] and redis.call('HGET', P.account .. id, 'u') == user then
      accounts[#accounts + 1] = id
    end
    seen_account[id] = true
  end
  i = i + tonumber(ARGV[i]) + 1
  for j = 1, tonumber(ARGV[i]) do
    local id = ARGV[i + j]
    -- A deleted category matches nothing (as the SQL model, which clears it from every
    -- transaction; a deleted global one is not cleared here, so it is checked here).
    if not categories[id] and redis.call('EXISTS', P.category .. id) == 1 then
      ncat = ncat + 1
      categories[id] = true
    end
  end
  local by_account = tonumber(ARGV[10]) > 0
  local sources = {}
  if by_account then
    for _, id in ipairs(accounts) do sources[#sources + 1] = P.account_txns .. id end
  elseif tonumber(ARGV[i]) > 0 then  -- categories asked for: those that exist
    for id in pairs(categories) do sources[#sources + 1] = P.category_txns .. user .. ':' .. id end
  else
    sources[1] = P.user_txns .. user
  end
  local by_category = by_account and tonumber(ARGV[i]) > 0
  local filtered = by_category or kind ~= ''
  local offset = (page - 1) * per_page
  local need = offset + per_page
  if need > CAP then return {'fallback', applied} end
  local total, lists = 0, {}
  for _, key in ipairs(sources) do
    if filtered then
      if redis.call('ZLEXCOUNT', key, lo, hi) > CAP then return {'fallback', applied} end
      local kept = {}
      for _, m in ipairs(redis.call('ZREVRANGEBYLEX', key, hi, lo)) do
        local t = redis.call('HMGET', P.txn .. string.sub(m, ${id_at}), 'c', 'k')
        if (not by_category or categories[t[1]]) and (kind == '' or t[2] == kind) then
          kept[#kept + 1] = m
        end
      end
      total = total + #kept
      lists[#lists + 1] = kept
    else
      total = total + redis.call('ZLEXCOUNT', key, lo, hi)
      lists[#lists + 1] = redis.call('ZREVRANGEBYLEX', key, hi, lo, 'LIMIT', 0, need)
    end
  end
  if #lists == 0 then return {'ok', applied, 0, '[]'} end
  return {'ok', applied, total, page_of(merge(lists, need), offset, per_page)}
end

local function accounts()
  local page, kind, currency = tonumber(ARGV[5]), ARGV[6], ARGV[7]
  local kept = {}
  for _, id in ipairs(redis.call('ZRANGE', P.user_accounts .. user, 0, -1)) do
    local a = redis.call('HMGET', P.account .. id, 'k', 'y')
    if (kind == '' or a[1] == kind) and (currency == '' or a[2] == currency) then
      kept[#kept + 1] = id
    end
  end
  local parts = {}
  for i = (page - 1) * 10 + 1, math.min(#kept, page * 10) do
    parts[#parts + 1] = docs['a' .. kept[i]]
  end
  return {'ok', applied, #kept, '[' .. table.concat(parts, ',') .. ']'}
end

local function categories()
  local default = ARGV[5]
  local rows = {}
  for _, owner in ipairs({user, 'global'}) do
    for _, id in ipairs(redis.call('SMEMBERS', P.owner_categories .. owner)) do
      local c = redis.call('HMGET', P.category .. id, 'f', 'n', 'd')
      if c[3] and (default == '' or c[1] == default) then
        rows[#rows + 1] = {c[1], c[2], id, c[3]}
      end
    end
  end
  table.sort(rows, function(a, b)
    if a[1] ~= b[1] then return a[1] > b[1] end
    if a[2] ~= b[2] then return before(a[2], b[2]) end
    return a[3] < b[3]
  end)
  local parts = {}
  for i, row in ipairs(rows) do parts[i] = row[4] end
  return {'ok', applied, #rows, '[' .. table.concat(parts, ',') .. ']'}
end

local function budget_doc(id)
  local b = redis.call('HMGET', P.budget .. id, 'c', 'd')
  if not b[2] or redis.call('EXISTS', P.category .. b[1]) == 0 then return nil end
  return render(b[2])
end

local function budgets()
  local parts = {}
  for _, id in ipairs(redis.call('ZRANGE', P.user_budgets .. user, 0, -1)) do
    parts[#parts + 1] = budget_doc(id)
  end
  return {'ok', applied, #parts, '[' .. table.concat(parts, ',') .. ']'}
end

local function owned(owner, global_ok)
  if not owner then return 'missing' end
  if owner == user or (global_ok and owner == '') then return 'ok' end
  return 'forbidden'
end

local function one()
  local kind, id = ARGV[5], ARGV[6]
  local status, doc
  if kind == 'txn' then
    local t = redis.call('HMGET', P.txn .. id, 'u', 'd')
    status = owned(t[1], false)
    if status == 'ok' then doc = render(t[2]) end
  elseif kind == 'account' then
    status = owned(redis.call('HGET', P.account .. id, 'u'), false)
    if status == 'ok' then doc = docs['a' .. id] end
  elseif kind == 'category' then
    local c = redis.call('HMGET', P.category .. id, 'u', 'd')
    status = owned(c[1], true)
    doc = c[2]
  else
    local owner = redis.call('HGET', P.budget .. id, 'u')
    doc = owner and redis.call('ZSCORE', P.user_budgets .. owner, id) and budget_doc(id)
    status = doc and owned(owner, false) or 'missing'
  end
  if status ~= 'ok' then return {status, applied} end
  return {'ok', applied, 1, doc}
end

local answer
if query == 'transactions' then answer = transactions()
elseif query == 'accounts' then answer = accounts()
elseif query == 'categories' then answer = categories()
elseif query == 'budgets' then answer = budgets()
else return one() end
if kept_key and answer[1] == 'ok' then
  redis.call('HSET', kept_key, 'v', versions, 't', answer[3], 'd', answer[4])
  redis.call('EXPIRE', kept_key, PAGE_SECONDS)
end
return answer
""")

# shared.domain.money.format_money, on the integer's text (exact for any int64).
MONEY = r"""
local SYMBOL = {BRL = 'R$', USD = '$', EUR = '\226\130\172'}
local function formatted(value, currency)
  local negative = string.sub(value, 1, 1) == '-'
  local digits = negative and string.sub(value, 2) or value
  digits = string.rep('0', 3 - string.len(digits)) .. digits
  local major = string.gsub(string.sub(digits, 1, -3), '^0+(%d)', '%1')
  local grouped = string.gsub(string.reverse(major), '(%d%d%d)', '%1,')
  grouped = string.reverse(grouped)
  if string.sub(grouped, 1, 1) == ',' then grouped = string.sub(grouped, 2) end
  return (negative and '-' or '') .. SYMBOL[currency] .. grouped .. '.' .. string.sub(digits, -2)
end
"""

SOURCE = _SOURCE.substitute(
    {**lua_prefixes(), "cap": SCAN_CAP, "page_seconds": PAGE_SECONDS, "money": MONEY}
)
