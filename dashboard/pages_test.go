package dashboard

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// resultsRoot is a results root with two sets: the reporter's fixture results at the root
// (two simulator runs and a broken file) and a baseline beside them.
func resultsRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	require.NoError(t, os.CopyFS(root, os.DirFS("../reporter/testdata/results")))
	base := filepath.Join(root, "baseline")
	require.NoError(t, os.MkdirAll(filepath.Join(base, "sim"), 0o755))
	b, err := os.ReadFile("../reporter/testdata/results/sim/sim_gpt-oss-20b_results.json")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(base, "sim", "sim_gpt-oss-20b_results.json"), b, 0o644))
	return root
}

func TestResultsBrowseCompareAndDownload(t *testing.T) {
	root := resultsRoot(t)
	_, srv := start(t, Config{Results: root})
	resp, page := get(t, srv, "/results?set=.")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, page, `<a href="/results?set=.">`+filepath.Base(root)+` (the results root)</a>`)
	assert.Contains(t, page, `<a href="/results?set=baseline">baseline</a>`)
	assert.Contains(t, page, `src="/results/report?set=."`)

	// The report is the reporter's page of the set's own files, not the nested baseline's.
	resp, report := get(t, srv, "/results/report?set=.")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "sandbox", "the report runs no script, even if a result file carried one")
	assert.Contains(t, report, "<h1>servegate report</h1>")
	assert.Contains(t, report, "2 result file(s)")
	assert.Contains(t, report, "broken_results.json", "an unreadable file is named, as in the offline report")
	assert.Contains(t, report, "<svg", "charts are inline, as in index.html")

	// Two runs compared: the regression comparison, summarised and in the report.
	resp, page = get(t, srv, "/results?set=.&base=baseline&threshold=0.1")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, page, `id="compare-result"`)
	assert.Contains(t, page, "0 significant regression(s) beyond 0.1")
	assert.Contains(t, page, "would pass", "the same file against itself: nothing changed")
	_, report = get(t, srv, "/results/report?set=.&base=baseline&threshold=0.1")
	assert.Contains(t, report, "Against the baseline")

	resp, dl := get(t, srv, "/results/download?set=baseline")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, `attachment; filename="servegate-report-baseline.html"`, resp.Header.Get("Content-Disposition"))
	assert.Contains(t, dl, "1 result file(s)")
	assert.NotContains(t, dl, "src=\"http", "the downloaded report opens offline")

	for _, bad := range []string{"/results?set=..", "/results/report?set=../../etc", "/results/download?set=%2Fetc", "/results?set=.&base=nope"} {
		resp, _ := get(t, srv, bad)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, bad)
	}
	resp, _ = get(t, srv, "/results?set=.&threshold=lots")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestResultsAndHypothesesSayWhenThereAreNone(t *testing.T) {
	_, srv := start(t, Config{Results: filepath.Join(t.TempDir(), "none-yet")})
	_, page := get(t, srv, "/results")
	assert.Contains(t, page, `id="no-results"`)
	_, page = get(t, srv, "/hypotheses")
	assert.Contains(t, page, `id="no-results"`)
	resp, _ := get(t, srv, "/results/report")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestHypothesesAreReDecidedFromTheChosenResults(t *testing.T) {
	root := resultsRoot(t)
	_, srv := start(t, Config{Results: root})
	resp, page := get(t, srv, "/hypotheses?set=baseline")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, id := range []string{"H1", "H1x", "H2", "H3", "H4", "H5"} {
		assert.Contains(t, page, `data-id="`+id+`"`)
	}
	// H1 on the fixture: throughput at c64 over c1, for the framework, with its threshold.
	assert.Contains(t, page, "sim concurrent/c64 output_token_throughput / sim concurrent/c1 output_token_throughput &gt;= 4")
	assert.Regexp(t, `class="v-(pass|fail|inconclusive)" data-id="H1"`, page)
	assert.Regexp(t, `data-id="H1">.*\n<td class="l">sim</td><td class="l">gpt-oss-20b</td>`, page, "decided for the framework and preset, as the suite's -from")

	// As the suite's -from, a set with an unreadable file is not decided: it says why.
	_, page = get(t, srv, "/hypotheses?set=.")
	assert.Contains(t, page, `id="problem"`)
	assert.Contains(t, page, "broken_results.json")

	// An override file changes the threshold, and the page re-decides with it.
	over := filepath.Join(t.TempDir(), "h.json")
	require.NoError(t, os.WriteFile(over, []byte(`[{"id": "H1", "claim": "scales a million times", "frameworks": ["sim"], "min_trials": 3,
		"checks": [{"num": {"scenario": "concurrent", "point": "c64", "metric": "output_token_throughput"},
		            "den": {"scenario": "concurrent", "point": "c1", "metric": "output_token_throughput"}, "op": ">=", "threshold": 1000000}]}]`), 0o644))
	_, srv = start(t, Config{Results: root, Hypotheses: over})
	_, page = get(t, srv, "/hypotheses?set=baseline")
	assert.Contains(t, page, "scales a million times")
	assert.Contains(t, page, `class="v-fail" data-id="H1"`)
}

func TestTextFromResultFilesIsEscaped(t *testing.T) {
	root := t.TempDir()
	evil := `x</td><script>alert(1)</script>`
	dir := filepath.Join(root, "sim")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	b, err := os.ReadFile("../reporter/testdata/results/sim/sim_gpt-oss-20b_results.json")
	require.NoError(t, err)
	// A framework name that is markup: the pages must show it as text.
	b = []byte(strings.Replace(string(b), `"framework": "sim"`, `"framework": "`+strings.ReplaceAll(evil, `"`, `\"`)+`"`, 1))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sim_gpt-oss-20b_results.json"), b, 0o644))
	_, srv := start(t, Config{Results: root})
	for _, path := range []string{"/results", "/hypotheses?set=."} {
		_, page := get(t, srv, path)
		assert.NotContains(t, page, "<script>alert(1)", path)
	}
	_, page := get(t, srv, "/hypotheses?set=.")
	assert.Contains(t, page, "x&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;", "shown, as text")
}

func TestGPUPageWithoutNVMLSaysSo(t *testing.T) {
	_, srv := start(t, Config{GPUWhy: "GPU telemetry unavailable: initialise NVML: ERROR_LIBRARY_NOT_FOUND"})
	_, page := get(t, srv, "/gpu")
	assert.Contains(t, page, `id="no-gpu"`)
	assert.Contains(t, page, "ERROR_LIBRARY_NOT_FOUND")
	resp, _ := get(t, srv, "/gpu/charts/memory.svg")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestGPUPageFollowsTheSamplerLive(t *testing.T) {
	s := mockSampler(t)
	_, srv := start(t, Config{GPU: s, GPUInterval: 20 * time.Millisecond})
	_, page := get(t, srv, "/gpu")
	assert.Contains(t, page, "NVIDIA H100 80GB HBM3")
	for _, m := range []string{"memory", "utilization", "power", "temperature"} {
		assert.Contains(t, page, `src="/gpu/charts/`+m+`.svg"`)
	}
	evs := events(t, srv, "/events/gpu", nil, 10*time.Second, func(e sseEvent) bool { return e.ID >= 3 })
	var r gpuReading
	evs[len(evs)-1].decode(t, &r)
	require.Len(t, r.Devices, 1)
	assert.Greater(t, r.Devices[0].MemoryUsedMB, 0.0)
	assert.Equal(t, 80.0*1024, r.Devices[0].MemoryTotalMB)
	resp, svg := get(t, srv, "/gpu/charts/power.svg")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, svg, "gpu0", "one line per device, drawn by the reporter's chart code")
	resp, _ = get(t, srv, "/gpu/charts/secrets.svg")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestLoopbackOnlyAndSameOriginWithoutAToken(t *testing.T) {
	_, srv := start(t, Config{})
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/servers", nil)
	req.Host = "attacker.example:8080" // a DNS name rebound to 127.0.0.1
	resp, err := noRedirect.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	for _, h := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Origin": "http://attacker.example"},
	} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/run", strings.NewReader(runForm("single").Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := noRedirect.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "a cross-origin form cannot start a run: %v", h)
	}
	resp, _ = get(t, srv, "/servers")
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "script-src 'self'", "no inline or foreign script runs")
	assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
}

func TestATokenGuardsEveryRequest(t *testing.T) {
	_, srv := start(t, Config{Token: "s3cret"})
	resp, _ := get(t, srv, "/servers")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = get(t, srv, "/servers?token=wrong")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = get(t, srv, "/events/gpu")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "live streams too")
	resp, _ = post(t, srv, "/run", runForm("single"))
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	resp, _ = get(t, srv, "/gpu?token=s3cret")
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/gpu", resp.Header.Get("Location"), "the token leaves the address bar")
	cookies := resp.Cookies()
	require.Len(t, cookies, 1)
	assert.True(t, cookies[0].HttpOnly)
	assert.Equal(t, http.SameSiteStrictMode, cookies[0].SameSite)

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/gpu", nil)
	req.AddCookie(cookies[0])
	r2, err := noRedirect.Do(req)
	require.NoError(t, err)
	r2.Body.Close()
	assert.Equal(t, http.StatusOK, r2.StatusCode)

	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/gpu", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	req.Host = "dashboard.lab:8080" // with a token, any name may be used
	r3, err := noRedirect.Do(req)
	require.NoError(t, err)
	r3.Body.Close()
	assert.Equal(t, http.StatusOK, r3.StatusCode)
}

func TestLoopbackAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:8080": true, "[::1]:8080": true,
		":8080": false, "0.0.0.0:8080": false, "192.168.1.5:8080": false, "[::]:8080": false,
	} {
		assert.Equal(t, want, LoopbackAddr(addr), addr)
	}
}

func TestEveryPageRendersAndLinksTheOthers(t *testing.T) {
	_, srv := start(t, Config{Results: resultsRoot(t)})
	resp, _ := get(t, srv, "/")
	assert.Equal(t, "/servers", resp.Header.Get("Location"))
	for _, path := range []string{"/servers", "/gpu", "/run", "/results", "/hypotheses"} {
		resp, page := get(t, srv, path)
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		assert.Contains(t, page, `href="`+path+`" aria-current="page"`, path)
		assert.Contains(t, page, `<script src="/static/app.js" defer></script>`)
		assert.NotContains(t, page, "http://"+"cdn", "nothing from elsewhere")
	}
	for _, asset := range []string{"/static/app.js", "/static/style.css"} {
		resp, body := get(t, srv, asset)
		require.Equal(t, http.StatusOK, resp.StatusCode, asset)
		assert.NotContains(t, body, "https://", "assets are self-contained")
	}
	resp, _ = get(t, srv, "/nope")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = post(t, srv, "/servers", url.Values{})
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}
