#!/bin/bash
# metrics.sh - the Prometheus listener ([metrics] listen), scraped by a
# real Prometheus after real mail through a private Postfix
# (tests/lib/e2e.sh):
#   lint      the exposition passes "promtool check metrics" (names, units,
#             _total counters, HELP/TYPE)
#   counts    after a known mix (journaled, addressed only to the journal,
#             signed and stripped for a legacy recipient, verified against
#             the corpus CA, and one tempfailed because the re-injection
#             listener was closed) every counter says exactly that
#   http      / is 404, POST is 405, the listener answers on loopback only
#   prometheus  a real Prometheus server scrapes it (up == 1) and its HTTP
#             API returns the journaled-message count the filter served
set -u
. "$abs_top_srcdir/tests/lib/e2e.sh"
for tool in curl promtool prometheus; do
    command -v "$tool" >/dev/null || e2e_fail "$tool is not installed (apt-get install -y curl prometheus)"
done
CORPUS=${SJM_CORPUS:-$abs_top_srcdir/../shared/corpus/thunderbird}
[ -d "$CORPUS" ] || e2e_fail "the S/MIME corpus is not there (set SJM_CORPUS)"

JOURNAL=journal@archive.corp.example
work=$(mktemp -d /tmp/sjm-metrics.XXXXXX)
prom_pid=
stop_prometheus() {
    if [ -n "$prom_pid" ]; then
        kill "$prom_pid" 2>/dev/null
        wait "$prom_pid" 2>/dev/null
        prom_pid=
    fi
}

conf() { # METRICS-PORT
    cat >"$work/filter.conf" <<CF
[signatures]
strip_for = *@legacy.example
[verify]
enabled = true
trust_anchors = $CORPUS/TestCA.pem
[journal]
recipient = $JOURNAL
[metrics]
listen = inet:$1@127.0.0.1
CF
}
conf 1
e2e_start "$work/filter.conf"
# The slot's ports are known now: restart the filter with its own.
# A port nobody listens on, from the kernel: fixed offsets from the
# slot's port collide with other suites' listeners (Sendmail, piler).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
MPORT=$(free_port)
PPORT=$(free_port)
conf "$MPORT"
e2e_stop_filter
e2e_start_filter "$work/filter.conf"
URL=http://127.0.0.1:$MPORT/metrics
scrape() { curl -sf --max-time 5 "$URL"; }
value() { # METRIC-WITH-LABELS: its value in a fresh scrape
    scrape | awk -v m="$1" '$1 == m { print $2; found = 1 } END { if (!found) print "missing" }'
}

e2e_check "the listener serves /metrics" bash -c "curl -sf --max-time 5 '$URL' >/dev/null"
e2e_check "its Content-Type is the Prometheus text format 0.0.4" \
    bash -c "curl -sfI --max-time 5 '$URL' | grep -qi '^Content-Type: text/plain; version=0.0.4'"
e2e_check "/ answers 404" [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/")" = 404 ]
e2e_check "POST answers 405" [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL")" = 405 ]
e2e_check "every series exists at 0 before the first message" \
    [ "$(value 'smime_journal_milter_tempfails_total{cause="reinject"}')" = 0 ]

# ------------------------------------------------------------ the mix
plain() { # FILE ID
    printf 'From: alice@corp.example\r\nTo: bob@corp.example\r\nSubject: %s\r\nDate: Mon, 23 Nov 2026 12:00:00 +0000\r\nMessage-ID: <%s@test.example>\r\n\r\nmetrics case %s\r\n' \
        "$2" "$2" "$2" >"$1"
}
for i in 1 2 3; do
    plain "$work/p$i.eml" "p$i"
    e2e_send "$work/p$i.eml" alice@corp.example bob@corp.example >/dev/null || e2e_bad "sending p$i"
done
plain "$work/j1.eml" j1
e2e_send "$work/j1.eml" alice@corp.example "$JOURNAL" >/dev/null || e2e_bad "sending j1"
cp "$CORPUS/alice.dsig.SHA256.multipart.eml" "$work/s1.eml"
e2e_send "$work/s1.eml" alice@corp.example carol@legacy.example >/dev/null || e2e_bad "sending s1"
e2e_wait_idle 60 || e2e_bad "the queue did not drain"
# One more signed one for the legacy recipient with the listener closed:
# the journal's original cannot be re-injected, so it is tempfailed.
e2e_reinject_listener off || e2e_fail "could not close the re-injection listener"
e2e_send "$work/s1.eml" alice@corp.example carol@legacy.example >/dev/null
e2e_reinject_listener on || e2e_fail "could not reopen the re-injection listener"

scrape >"$work/scrape.txt"
if promtool check metrics <"$work/scrape.txt" >"$work/promtool.out" 2>&1; then
    e2e_ok "promtool check metrics finds nothing to fix"
else
    e2e_bad "promtool check metrics: $(head -5 "$work/promtool.out")"
fi
expect() { # METRIC VALUE WHAT
    local got
    got=$(awk -v m="$1" '$1 == m { print $2; found = 1 } END { if (!found) print "missing" }' "$work/scrape.txt")
    e2e_check "$3: $1 = $2 (got $got)" [ "$got" = "$2" ]
}
P=smime_journal_milter_
expect "${P}messages_total{journal=\"added\",reason=\"\"}" 4 "three plain and one signed message journaled"
expect "${P}messages_total{journal=\"skipped\",reason=\"journal_mailbox\"}" 1 "mail only to the journal is skipped"
expect "${P}messages_total{journal=\"failed\",reason=\"\"}" 1 "the tempfailed one counts as failed"
expect "${P}signature_outcomes_total{outcome=\"none\"}" 4 "four unsigned"
expect "${P}signature_outcomes_total{outcome=\"stripped\"}" 2 "two stripped for the legacy recipient"
expect "${P}verify_results_total{result=\"pass\"}" 2 "both signatures verified against the corpus CA"
expect "${P}reinject_attempts_total{kind=\"journal_original\"}" 2 "the signed original re-injected for the journal, twice tried"
expect "${P}reinject_failures_total{kind=\"journal_original\"}" 1 "once refused"
expect "${P}tempfails_total{cause=\"reinject\"}" 1 "one tempfail, caused by re-injection"
expect "${P}tempfails_total{cause=\"journal_recipient\"}" 0 "no journal recipient refused"
expect "${P}journal_copies_total" 4 "four journal copies"
expect "${P}eom_duration_seconds_count" 6 "six messages timed at end of message"
bytes=$(awk -v m="${P}journal_bytes_total" '$1 == m { print $2 }' "$work/scrape.txt")
e2e_check "journal bytes cover the signed original and three plain ones (> $(stat -c %s "$work/s1.eml"))" \
    [ "${bytes:-0}" -gt "$(stat -c %s "$work/s1.eml")" ]
e2e_check "build_info names the version" grep -q "^${P}build_info{version=\"[0-9]" "$work/scrape.txt"
e2e_check "no label carries an address" bash -c "! grep -v '^#' '$work/scrape.txt' | grep -q '@'"

# --------------------------------------------------------- Prometheus
cat >"$work/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: smime-journal-milter
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
YML
promtool check config "$work/prometheus.yml" >/dev/null 2>&1 || e2e_bad "promtool check config rejects the test's prometheus.yml"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$PPORT" >"$work/prometheus.log" 2>&1 &
prom_pid=$!
trap 'stop_prometheus; e2e_cleanup' EXIT
query() { # PROMQL: the first result's value, or nothing
    curl -s --max-time 5 "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1" \
        | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' 2>/dev/null
}
got=
for _ in $(seq 1 150); do
    got=$(query 'smime_journal_milter_messages_total{journal="added"}')
    [ -n "$got" ] && break
    sleep 0.2
done
e2e_check "Prometheus scraped the filter: up == 1" [ "$(query 'up{job="smime-journal-milter"}')" = 1 ]
e2e_check "Prometheus's HTTP API returns the journaled-message count the filter served (4, got '$got')" \
    [ "$got" = 4 ]
got=$(query 'sum(smime_journal_milter_signature_outcomes_total)')
e2e_check "Prometheus sums the signature outcomes over all six messages (got '$got')" [ "$got" = 6 ]
# The shipped Grafana dashboard: every panel's query is valid PromQL to
# this Prometheus and names a metric the filter serves.
if python3 - "$abs_top_srcdir/etc/grafana-dashboard.json" "$PPORT" "$work/scrape.txt" <<'PY'
import json, re, sys, urllib.parse, urllib.request
dash = json.load(open(sys.argv[1]))
served = set(re.findall(r"^(smime_journal_milter_\w+?)(?:_bucket|_sum|_count)?[{ ]", open(sys.argv[3]).read(), re.M))
bad = []
for p in dash["panels"]:
    for t in p["targets"]:
        q = t["expr"].replace("$instance", ".*").replace("$job", ".*")
        names = re.findall(r"smime_journal_milter_\w+", q)
        for n in names:
            if re.sub(r"_bucket$", "", n) not in served:
                bad.append("%s: %s is not served" % (p["title"], n))
        url = "http://127.0.0.1:%s/api/v1/query?%s" % (sys.argv[2], urllib.parse.urlencode({"query": q}))
        try:
            r = json.load(urllib.request.urlopen(url, timeout=5))
            if r.get("status") != "success":
                bad.append("%s: %s" % (p["title"], r))
        except Exception as e:
            bad.append("%s: %s: %s" % (p["title"], q, e))
if bad:
    print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
then
    e2e_ok "every query of etc/grafana-dashboard.json runs in Prometheus and names a served metric"
else
    e2e_bad "etc/grafana-dashboard.json has queries Prometheus refuses or metrics the filter does not serve (above)"
fi
if [ "$E2E_FAILS" -gt 0 ]; then tail -n 5 "$work/prometheus.log"; fi
stop_prometheus

rm -rf "$work"
e2e_finish
