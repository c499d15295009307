-- journal-addfail.lua - an MTA (miltertest) that offers or withholds the
-- "add recipient" actions, so the filter's on_failure path runs for real:
-- libmilter refuses smfi_addrcpt/smfi_addrcpt_par when the MTA did not
-- grant them.  Environment: SOCK, ACTIONS (number), EXPECT
-- (tempfail|continue), RCPTADD (address expected to be added, or "").

local sock = os.getenv("SOCK")
local actions = tonumber(os.getenv("ACTIONS"))
local expect = os.getenv("EXPECT")
local rcptadd = os.getenv("RCPTADD") or ""

local conn = mt.connect(sock, 40, 0.25)
if conn == nil then
    error("cannot connect to " .. sock)
end
-- This miltertest puts its third argument into the protocol-steps word
-- and its fourth into the actions word (its manual says the reverse);
-- checked on the wire with strace.
local err = mt.negotiate(conn, 6, nil, actions)
if err ~= nil then
    error("negotiate: " .. err)
end
if mt.conninfo(conn, "client.example", "127.0.0.1") ~= nil then
    error("conninfo failed")
end
if mt.getreply(conn) ~= SMFIR_CONTINUE then
    error("conninfo: unexpected reply")
end
mt.macro(conn, SMFIC_MAIL, "i", "ADDFAIL1")
if mt.mailfrom(conn, "<alice@corp.example>") ~= nil then
    error("mailfrom failed")
end
if mt.getreply(conn) ~= SMFIR_CONTINUE then
    error("mailfrom: unexpected reply")
end
if mt.rcptto(conn, "<bob@other.example>") ~= nil then
    error("rcptto failed")
end
if mt.getreply(conn) ~= SMFIR_CONTINUE then
    error("rcptto: unexpected reply")
end
for _, h in ipairs({ { "From", "alice@corp.example" }, { "To", "bob@other.example" },
                     { "Subject", "add failure" } }) do
    if mt.header(conn, h[1], h[2]) ~= nil then
        error("header failed")
    end
end
if mt.eoh(conn) ~= nil then
    error("eoh failed")
end
if mt.bodystring(conn, "hello\r\n") ~= nil then
    error("body failed")
end
if mt.eom(conn) ~= nil then
    error("eom failed")
end
local reply = mt.getreply(conn)
if expect == "tempfail" then
    -- A tempfail with our own 451 text travels as SMFIR_REPLYCODE.
    if reply ~= SMFIR_REPLYCODE and reply ~= SMFIR_TEMPFAIL then
        error("expected a tempfail at end of message, got " .. tostring(reply))
    end
    if mt.eom_check(conn, MT_RCPTADD, "<journal@archive.example>") then
        error("a recipient was added although the MTA did not allow it")
    end
else
    if reply ~= SMFIR_CONTINUE and reply ~= SMFIR_ACCEPT then
        error("expected continue at end of message, got " .. tostring(reply))
    end
    if rcptadd ~= "" and not mt.eom_check(conn, MT_RCPTADD, rcptadd) then
        error("expected " .. rcptadd .. " to be added")
    end
end
mt.disconnect(conn)
