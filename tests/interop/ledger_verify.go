// ledger_verify checks a smime-journal-milter ledger with Go's reference
// implementation of signed notes and transparency-log proofs
// (golang.org/x/mod/sumdb/note and sumdb/tlog), sharing no code with the
// filter:
//
//	ledger_verify SJM_BIN VERIFIER_KEY LEDGER_DIR
//
// It re-hashes every entry from the segment files, opens every
// checkpoint with the verifier key, recomputes each checkpoint's root
// from its own hashes, checks the filter's inclusion proof of every entry
// and its consistency proof between every pair of checkpoints, and makes
// sure tampered checkpoints and proofs are refused.  Exit 0 when all hold.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var failures int

func fail(format string, a ...interface{}) {
	fmt.Printf("FAIL: "+format+"\n", a...)
	failures++
}

// Records of the ledger: 4-byte big-endian length, entry, stored leaf hash.
func readEntries(dir string) (leaves []tlog.Hash) {
	segs, _ := filepath.Glob(filepath.Join(dir, "ledger-*.sjl"))
	sort.Strings(segs)
	for _, s := range segs {
		data, err := os.ReadFile(s)
		if err != nil {
			fail("%v", err)
			return
		}
		for len(data) >= 4 {
			n := int(binary.BigEndian.Uint32(data))
			if len(data) < 4+n+32 {
				fail("%s: a partial record", s)
				break
			}
			h := tlog.RecordHash(data[4 : 4+n])
			if !bytes.Equal(h[:], data[4+n:4+n+32]) {
				fail("%s: entry %d: stored leaf hash is not RecordHash(entry)", s, len(leaves))
			}
			leaves = append(leaves, h)
			data = data[4+n+32:]
		}
	}
	return
}

// The stored hashes of the tree over LEAVES, in tlog's layout.
func storage(leaves []tlog.Hash) tlog.HashReaderFunc {
	var stored []tlog.Hash
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	for i, h := range leaves {
		hs, err := tlog.StoredHashesForRecordHash(int64(i), h, r)
		if err != nil {
			fail("storing hash %d: %v", i, err)
		}
		stored = append(stored, hs...)
	}
	return r
}

func prove(bin, dir string, args ...string) []tlog.Hash {
	cmd := exec.Command(bin, append([]string{"--prove", "--ledger", dir}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		fail("%s --prove %v: %v", bin, args, err)
		return nil
	}
	var p []tlog.Hash
	for _, line := range strings.Fields(string(out)) {
		b, err := base64.StdEncoding.DecodeString(line)
		if err != nil || len(b) != 32 {
			fail("proof line %q", line)
			continue
		}
		var h tlog.Hash
		copy(h[:], b)
		p = append(p, h)
	}
	return p
}

func main() {
	if len(os.Args) != 4 {
		fmt.Println("usage: ledger_verify SJM_BIN VERIFIER_KEY LEDGER_DIR")
		os.Exit(64)
	}
	bin, vkey, dir := os.Args[1], os.Args[2], os.Args[3]
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		fmt.Println("verifier key:", err)
		os.Exit(1)
	}
	vlist := note.VerifierList(verifier)
	leaves := readEntries(dir)
	r := storage(leaves)
	checks := 0

	files, _ := filepath.Glob(filepath.Join(dir, "checkpoints", "*"))
	var trees []tlog.Tree
	for _, f := range files {
		data, _ := os.ReadFile(f)
		n, err := note.Open(data, vlist)
		if err != nil {
			fail("%s: note.Open: %v", f, err)
			continue
		}
		// tlog.ParseTree reads the go.sum origin only; a C2SP
		// checkpoint is the same body under its own origin line.
		lines := strings.SplitN(n.Text, "\n", 2)
		t, err := tlog.ParseTree([]byte("go.sum database tree\n" + lines[len(lines)-1]))
		if err != nil {
			fail("%s: tlog.ParseTree: %v", f, err)
			continue
		}
		if n.Sigs[0].Name != strings.SplitN(n.Text, "\n", 2)[0] {
			fail("%s: signer %q is not the origin", f, n.Sigs[0].Name)
		}
		if t.N > int64(len(leaves)) {
			fail("%s: signs %d entries, the ledger has %d", f, t.N, len(leaves))
			continue
		}
		th, err := tlog.TreeHash(t.N, r)
		if t.N == 0 {
			// RFC 6962 section 2.1: the empty tree's hash is SHA-256 of
			// nothing; tlog.TreeHash gives the zero hash instead.
			th = tlog.Hash(sha256.Sum256(nil))
		}
		if err != nil || th != t.Hash {
			fail("%s: root of %d entries is %v, the checkpoint says %v", f, t.N, th, t.Hash)
		}
		trees = append(trees, t)
		checks++

		// A forged checkpoint: another size, or another root.
		forged := bytes.Replace(data, []byte("\n"+strconv.FormatInt(t.N, 10)+"\n"),
			[]byte("\n"+strconv.FormatInt(t.N+1, 10)+"\n"), 1)
		if _, err := note.Open(forged, vlist); err == nil {
			fail("%s: a checkpoint with another size verified", f)
		}
		forged = bytes.Replace(data, []byte(t.Hash.String()), []byte(tlog.Hash{}.String()), 1)
		if _, err := note.Open(forged, vlist); err == nil {
			fail("%s: a checkpoint with another root verified", f)
		}
		checks += 2
	}
	if len(trees) < 2 {
		fail("want at least two checkpoints, found %d", len(trees))
		os.Exit(1)
	}
	sort.Slice(trees, func(i, j int) bool { return trees[i].N < trees[j].N })
	last := trees[len(trees)-1]
	for i := int64(0); i < last.N; i++ {
		p := prove(bin, dir, "--size", fmt.Sprint(last.N), "--index", fmt.Sprint(i))
		if err := tlog.CheckRecord(p, last.N, last.Hash, i, leaves[i]); err != nil {
			fail("inclusion of %d in %d: %v", i, last.N, err)
		}
		if len(p) > 0 {
			p[0][3] ^= 1
			if tlog.CheckRecord(p, last.N, last.Hash, i, leaves[i]) == nil {
				fail("a tampered inclusion proof of %d verified", i)
			}
		}
		checks++
	}
	for _, old := range trees {
		for _, t := range trees {
			if old.N == 0 || old.N >= t.N {
				continue
			}
			p := prove(bin, dir, "--size", fmt.Sprint(t.N), "--old-size", fmt.Sprint(old.N))
			if err := tlog.CheckTree(p, t.N, t.Hash, old.N, old.Hash); err != nil {
				fail("consistency %d -> %d: %v", old.N, t.N, err)
			}
			wrong := old.Hash
			wrong[0] ^= 1
			if tlog.CheckTree(p, t.N, t.Hash, old.N, wrong) == nil {
				fail("consistency %d -> %d held for another old root", old.N, t.N)
			}
			checks++
		}
	}
	fmt.Printf("go verifier: %d entries, %d checkpoints, %d checks, %d failures\n",
		len(leaves), len(trees), checks, failures)
	if failures > 0 {
		os.Exit(1)
	}
}
