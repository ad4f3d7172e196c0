package flashtest

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The test card: an MBR with one FAT partition at 1 MiB (as on every
// leafbox board) and random bytes elsewhere, so a bad copy shows.
const (
	imageSize = 8 << 20
	fatOffset = 1 << 20
	fatSize   = 4 << 20
)

func flashScript(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "flash"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func requireTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"bash", "sfdisk", "mkfs.vfat", "mcopy", "mtype", "sha256sum", "dd"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: run bash scripts/deps.sh test", tool)
		}
	}
}

// makeImage writes a small card image and returns its path.
func makeImage(t *testing.T, dir string) string {
	t.Helper()
	img := filepath.Join(dir, "leafbox.img")
	data := make([]byte, imageSize)
	rand.Read(data)
	if err := os.WriteFile(img, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sfdisk", "-q", img)
	cmd.Stdin = strings.NewReader("label: dos\nstart=1MiB, size=4MiB, type=c, bootable\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sfdisk: %v\n%s", err, out)
	}
	fat := filepath.Join(dir, "fat.img")
	if out, err := exec.Command("mkfs.vfat", "-C", fat, "4096").CombinedOutput(); err != nil {
		t.Fatalf("mkfs.vfat: %v\n%s", err, out)
	}
	fb, err := os.ReadFile(fat)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(img, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(fb, fatOffset); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return img
}

// fakeSys builds a sysfs with one disk "sdz" (partitions sdz1, sdz2) and
// returns its root.
func fakeSys(t *testing.T, dir, removable string, sectors int) string {
	t.Helper()
	sys := filepath.Join(dir, "sys")
	for _, p := range []string{"block/sdz/sdz1", "block/sdz/sdz2", "class/block"} {
		if err := os.MkdirAll(filepath.Join(sys, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"block/sdz/removable":      removable + "\n",
		"block/sdz/size":           strconv.Itoa(sectors) + "\n",
		"block/sdz/sdz1/partition": "1\n",
		"block/sdz/sdz2/partition": "2\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(sys, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"sdz", "sdz/sdz1", "sdz/sdz2"} {
		if err := os.Symlink("../../block/"+n, filepath.Join(sys, "class/block", filepath.Base(n))); err != nil {
			t.Fatal(err)
		}
	}
	return sys
}

// flash runs the script and returns its combined output and exit error.
func flash(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{flashScript(t)}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = nil // not a terminal
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// provisioned reads leafbox-provision/NAME from the card's FAT partition.
func provisioned(t *testing.T, card, name string) (string, bool) {
	t.Helper()
	out, err := exec.Command("mtype", "-i", card+"@@"+strconv.Itoa(fatOffset), "::leafbox-provision/"+name).Output()
	if err != nil {
		return "", false
	}
	return string(out), true
}

func TestFlashWritesVerifiesAndProvisions(t *testing.T) {
	requireTools(t)
	dir := t.TempDir()
	img := makeImage(t, dir)
	want, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	gz := filepath.Join(dir, "leafbox.img.gz")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(want)
	zw.Close()
	if err := os.WriteFile(gz, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	creds := filepath.Join(dir, "leaf.creds")
	if err := os.WriteFile(creds, []byte("-----BEGIN NATS USER JWT-----\nfake\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ name, image string }{{"raw", img}, {"gzip", gz}} {
		t.Run(tc.name, func(t *testing.T) {
			card := filepath.Join(t.TempDir(), "card")
			// A used card: longer than the image and full of old data.
			if err := os.WriteFile(card, bytes.Repeat([]byte{0xAA}, imageSize+4096), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := flash(t, nil, "--yes",
				"--hostname", "gw-7", "--user", "app:pa ss", "--user", "ops:x",
				"--hub", "tls://hub-a.example:7422", "--hub", "tls://hub-b.example:7422",
				"--leaf-creds", creds, "--wifi", "plant:correct horse", "--wifi-country", "DE",
				tc.image, card)
			if err != nil {
				t.Fatalf("flash: %v\n%s", err, out)
			}
			if !strings.Contains(out, "verified sha256") {
				t.Errorf("no verification reported:\n%s", out)
			}
			got, err := os.ReadFile(card)
			if err != nil {
				t.Fatal(err)
			}
			// Outside the FAT partition the card is the image byte for byte.
			if !bytes.Equal(got[:fatOffset], want[:fatOffset]) || !bytes.Equal(got[fatOffset+fatSize:imageSize], want[fatOffset+fatSize:]) {
				t.Error("the card's content differs from the image outside the provisioning partition")
			}
			for name, wantSub := range map[string]string{
				"hostname":            "gw-7\n",
				"auth.conf":           `{ user: "app", password: "pa ss" }`,
				"hub.conf":            `urls: ["tls://hub-a.example:7422", "tls://hub-b.example:7422"], credentials: "/data/leafbox/leaf.creds"`,
				"leaf.creds":          "BEGIN NATS USER JWT",
				"wpa_supplicant.conf": "country=DE",
			} {
				content, ok := provisioned(t, card, name)
				if !ok {
					t.Errorf("%s was not provisioned", name)
					continue
				}
				if !strings.Contains(content, wantSub) {
					t.Errorf("%s = %q, want it to contain %q", name, content, wantSub)
				}
			}
			if c, _ := provisioned(t, card, "auth.conf"); !strings.Contains(c, `{ user: "ops", password: "x" }`) {
				t.Errorf("second user missing from auth.conf: %q", c)
			}
		})
	}
}

func TestFlashRefuses(t *testing.T) {
	requireTools(t)
	dir := t.TempDir()
	img := makeImage(t, dir)
	card := filepath.Join(dir, "card")
	if err := os.WriteFile(card, make([]byte, imageSize), 0o644); err != nil {
		t.Fatal(err)
	}
	const fits = 2 * imageSize / 512
	mounts := func(t *testing.T, lines ...string) string {
		p := filepath.Join(t.TempDir(), "mounts")
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const otherRoot = "/dev/sdy2 / ext4 rw 0 0"
	for _, tc := range []struct {
		name      string
		removable string
		sectors   int
		devname   string
		mounts    []string
		args      []string
		want      string // "" means the write is allowed
	}{
		{"removable card", "1", fits, "sdz", []string{otherRoot}, []string{"--yes"}, ""},
		{"system disk", "1", fits, "sdz", []string{"/dev/sdz2 / ext4 rw 0 0"}, []string{"--yes"}, "holds the running system"},
		{"system boot partition", "1", fits, "sdz", []string{otherRoot, "/dev/sdz1 /boot/firmware vfat rw 0 0"}, []string{"--yes"}, "holds the running system"},
		{"mounted partition", "1", fits, "sdz", []string{otherRoot, "/dev/sdz1 /media/card vfat rw 0 0"}, []string{"--yes"}, "has mounted partitions"},
		{"non-removable", "0", fits, "sdz", []string{otherRoot}, []string{"--yes"}, "not a removable device"},
		{"non-removable forced", "0", fits, "sdz", []string{otherRoot}, []string{"--yes", "--force"}, ""},
		{"forced system disk", "0", fits, "sdz", []string{"/dev/sdz2 / ext4 rw 0 0"}, []string{"--yes", "--force"}, "holds the running system"},
		{"partition", "1", fits, "sdz1", []string{otherRoot}, []string{"--yes"}, "not a whole disk"},
		{"too small", "1", imageSize/512 - 1, "sdz", []string{otherRoot}, []string{"--yes"}, "does not fit"},
		{"no terminal and no --yes", "1", fits, "sdz", []string{otherRoot}, nil, "pass --yes"},
		{"bad hostname", "1", fits, "sdz", []string{otherRoot}, []string{"--yes", "--hostname", "bad_name!"}, "bad hostname"},
		{"quote in password", "1", fits, "sdz", []string{otherRoot}, []string{"--yes", "--user", `app:a"b`}, "may not contain quotes"},
		{"short Wi-Fi passphrase", "1", fits, "sdz", []string{otherRoot}, []string{"--yes", "--wifi", "net:short"}, "8 to 63 characters"},
		{"bad hub URL", "1", fits, "sdz", []string{otherRoot}, []string{"--yes", "--hub", "http://hub"}, "bad hub URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys := fakeSys(t, t.TempDir(), tc.removable, tc.sectors)
			env := []string{"FLASH_SYSFS=" + sys, "FLASH_MOUNTS=" + mounts(t, tc.mounts...), "FLASH_DEVNAME=" + tc.devname}
			out, err := flash(t, env, append(append([]string{}, tc.args...), img, card)...)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v\n%s", err, out)
				}
				return
			}
			if err == nil {
				t.Fatalf("wrote the card; want a refusal with %q\n%s", tc.want, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Fatalf("refusal %q, want it to say %q", strings.TrimSpace(out), tc.want)
			}
		})
	}
}

func TestFlashProvisionOnly(t *testing.T) {
	requireTools(t)
	dir := t.TempDir()
	card := makeImage(t, dir)
	before, err := os.ReadFile(card)
	if err != nil {
		t.Fatal(err)
	}
	out, err := flash(t, nil, "--provision-only", "--hostname", "gw-8", card)
	if err != nil {
		t.Fatalf("flash: %v\n%s", err, out)
	}
	if got, ok := provisioned(t, card, "hostname"); !ok || got != "gw-8\n" {
		t.Errorf("hostname = %q, %v", got, ok)
	}
	after, err := os.ReadFile(card)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before[:fatOffset], after[:fatOffset]) || !bytes.Equal(before[fatOffset+fatSize:], after[fatOffset+fatSize:]) {
		t.Error("provisioning changed bytes outside the FAT partition")
	}
	// Provisioning again replaces the file.
	if out, err := flash(t, nil, "--provision-only", "--hostname", "gw-9", card); err != nil {
		t.Fatalf("flash: %v\n%s", err, out)
	}
	if got, _ := provisioned(t, card, "hostname"); got != "gw-9\n" {
		t.Errorf("hostname after re-provisioning = %q", got)
	}
}
