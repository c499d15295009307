#!/usr/bin/env python3
"""Count every message of a burst (burst.py) in the Maildirs.

usage: reconcile.py MAILDIR_RCPT MAILDIR_JOURNAL PREFIX COUNT UNCERTAIN

For message ids PREFIX-1 .. PREFIX-COUNT: how many copies the recipient
and the journal mailbox hold.  Prints

  reconcile: messages=N delivered=D journaled=J lost=L unjournaled=U
             duplicates=X journal_duplicates=Y journal_only=Z uncertain=K

lost: no copy at the recipient; unjournaled: delivered but no journal
copy; duplicates: extra copies at the recipient (allowed only up to the
UNCERTAIN transactions whose final reply the client never saw);
journal_only: a journal copy of a message the recipient never got.
Exit 0 when lost = unjournaled = journal_only = 0 and duplicates
(recipient and journal alike) <= UNCERTAIN.
"""
import collections
import os
import re
import sys


def count(maildir, prefix):
    c = collections.Counter()
    pat = re.compile(rb"^Message-ID: <" + re.escape(prefix.encode()) + rb"-(\d+)@test\.example>",
                     re.I | re.M)
    new = os.path.join(maildir, "new")
    if not os.path.isdir(new):
        return c
    for name in os.listdir(new):
        with open(os.path.join(new, name), "rb") as f:
            head = f.read(65536).split(b"\n\n", 1)[0]
        m = pat.search(head)
        if m:
            c[int(m.group(1))] += 1
    return c


def main():
    rdir, jdir, prefix, n, uncertain = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    r, j = count(rdir, prefix), count(jdir, prefix)
    ids = range(1, n + 1)
    lost = [i for i in ids if r[i] == 0]
    unj = [i for i in ids if r[i] > 0 and j[i] == 0]
    jonly = [i for i in ids if j[i] > 0 and r[i] == 0]
    dups = sum(max(0, r[i] - 1) for i in ids)
    jdups = sum(max(0, j[i] - 1) for i in ids)
    print(f"reconcile: messages={n} delivered={sum(1 for i in ids if r[i])} "
          f"journaled={sum(1 for i in ids if j[i])} lost={len(lost)} unjournaled={len(unj)} "
          f"duplicates={dups} journal_duplicates={jdups} journal_only={len(jonly)} uncertain={uncertain}")
    for what, lst in (("lost", lost), ("unjournaled", unj), ("journal_only", jonly)):
        if lst:
            print(f"  {what}: {' '.join(f'{prefix}-{i}' for i in lst[:20])}")
    # A stripped message's journal copy is re-injected before the original
    # is accepted (journal first, by design): a kill between the two leaves
    # that copy, and the client's retry journals again.  Extra copies in
    # the archive are what retry semantics force; they are counted above,
    # never a loss.  Recipients must still get exactly one.
    ok = not lost and not unj and not jonly and dups <= uncertain
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
