package main

import (
	"bytes"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// chromium finds a headless browser: Debian's chromium package, or
// another Chromium. Without one the test skips, except in CI (CI=true),
// where .ci/run installs it and its absence is a failure.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH; .ci/run installs Debian's chromium package")
	}
	t.Skip("no chromium on PATH (install Debian's chromium package to run this test)")
	return ""
}

// runChromium runs a headless browser on page with extra flags and
// returns what it printed on stdout and stderr. Console messages go to
// stderr, as "CONSOLE" lines, with --enable-logging=stderr.
func runChromium(t *testing.T, bin, page string, flags ...string) (stdout, stderr string) {
	t.Helper()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}, flags...)
	cmd := exec.Command(bin, append(args, "file://"+page)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, errOut.String())
	}
	return out.String(), errOut.String()
}

var consoleLine = regexp.MustCompile(`(?m)^.*CONSOLE.*$`)

// The page that -out writes opens in a real browser: every timeline
// loads as an image, nothing is logged to the console, and a screenshot
// of the page is a real picture. A copy of the page with a small script
// reports on each image; it also logs a line, to show that console
// messages would be caught.
func TestIndexHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	code, _, errOut := runLab(t, "-out", dir, "-scenarios", "brownout,flapping,healthy", "-policies", "consecutive,rate,slow,any")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	index, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	const probe = `<script>
window.addEventListener("load", () => {
  const states = Array.from(document.images, i =>
    (i.complete && i.naturalWidth > 0 ? "loaded:" : "broken:") + i.getAttribute("src"));
  document.body.setAttribute("data-images", states.join(" "));
  console.log("lab-probe-ran");
});
</script>
</body>`
	check := filepath.Join(dir, "check.html")
	if err := os.WriteFile(check, bytes.Replace(index, []byte("</body>"), []byte(probe), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	dom, probeLog := runChromium(t, bin, check, "--virtual-time-budget=5000", "--dump-dom")
	m := regexp.MustCompile(`data-images="([^"]*)"`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the probe did not run; the DOM:\n%s\nstderr:\n%s", dom, probeLog)
	}
	want := "loaded:brownout.svg loaded:flapping.svg loaded:healthy.svg"
	if m[1] != want {
		t.Errorf("images: %s\nwant %s", m[1], want)
	}
	if !strings.Contains(probeLog, "lab-probe-ran") {
		t.Errorf("the probe's console line was not caught, so the console check below proves nothing; stderr:\n%s", probeLog)
	}

	shot := filepath.Join(dir, "shot.png")
	_, pageLog := runChromium(t, bin, filepath.Join(dir, "index.html"), "--window-size=1100,2400", "--screenshot="+shot)
	if lines := consoleLine.FindAllString(pageLog, -1); len(lines) > 0 {
		t.Errorf("index.html logged to the console:\n%s", strings.Join(lines, "\n"))
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1100 || b.Dy() != 2400 {
		t.Errorf("screenshot is %v, want 1100×2400", b)
	}
	// A blank or broken page has a handful of colours; the table, curves
	// and lanes have many.
	colours := map[uint32]bool{}
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y += 3 {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x += 3 {
			r, g, b, _ := img.At(x, y).RGBA()
			colours[r>>8<<16|g>>8<<8|b>>8] = true
		}
	}
	if len(colours) < 50 {
		t.Errorf("screenshot has %d colours: the page looks empty", len(colours))
	}
	// LAB_SCREENSHOT=FILE keeps the screenshot, to look at.
	if keep := os.Getenv("LAB_SCREENSHOT"); keep != "" {
		data, _ := os.ReadFile(shot)
		os.WriteFile(keep, data, 0o644)
	}
}
