// Package kubernetes_test checks the manifests of deploy/kubernetes without a cluster or
// a network: each is decoded strictly into the Kubernetes API's own types (a field the API
// does not have is an error, as kubectl apply --validate=strict would say), and what a
// sharded measurement relies on is checked: an Indexed Job whose completions are the shard
// count the pods are told, a start the shards share (a barrier directory on the shared
// volume, named per Job), the results volume every pod mounts, and binaries the
// repository's Dockerfile builds. The Kubernetes modules are this test's alone.
package kubernetes_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// decodeStrict decodes one YAML document into v, refusing fields v's type lacks.
func decodeStrict(doc []byte, v any) error {
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// objects decodes every manifest of the directory strictly by its kind.
type objects struct {
	jobs map[string]*batchv1.Job
	pvcs map[string]*corev1.PersistentVolumeClaim
}

func load(t *testing.T) objects {
	t.Helper()
	paths, err := filepath.Glob("*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	o := objects{jobs: map[string]*batchv1.Job{}, pvcs: map[string]*corev1.PersistentVolumeClaim{}}
	for _, path := range paths {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			where := fmt.Sprintf("%s document %d", path, i)
			var head struct{ APIVersion, Kind string }
			require.NoError(t, yaml.Unmarshal([]byte(doc), &head), where)
			switch head.APIVersion + " " + head.Kind {
			case "batch/v1 Job":
				var job batchv1.Job
				require.NoError(t, decodeStrict([]byte(doc), &job), where)
				o.jobs[job.Name] = &job
			case "v1 PersistentVolumeClaim":
				var pvc corev1.PersistentVolumeClaim
				require.NoError(t, decodeStrict([]byte(doc), &pvc), where)
				o.pvcs[pvc.Name] = &pvc
			default:
				t.Fatalf("%s: %s %s is not checked here: add it to this test", where, head.APIVersion, head.Kind)
			}
		}
	}
	return o
}

// The decoder is strict: a misspelt field is an error, not a field silently dropped.
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	var job batchv1.Job
	err := decodeStrict([]byte("apiVersion: batch/v1\nkind: Job\nspec:\n  completionMod: Indexed\n"), &job)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "completionMod")
	err = decodeStrict([]byte("apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      containers:\n        - name: x\n          imagePullPolicy: IfNotPresent\n          volumeMount: []\n"), &job)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "volumeMount")
}

func env(c corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

// flag returns the value of -name=value among args.
func flag(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "-"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// mount returns where c mounts the volume backed by claim, and whether it does.
func mount(spec corev1.PodSpec, c corev1.Container, claim string) (string, bool) {
	for _, v := range spec.Volumes {
		if v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != claim {
			continue
		}
		for _, m := range c.VolumeMounts {
			if m.Name == v.Name {
				return m.MountPath, true
			}
		}
	}
	return "", false
}

// built lists the binaries the repository's Dockerfile puts in the image.
func built(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../Dockerfile")
	require.NoError(t, err, "the image is built by the repository's Dockerfile")
	var out []string
	for _, m := range regexp.MustCompile(`-o /out/(\S+)`).FindAllStringSubmatch(string(b), -1) {
		out = append(out, "/usr/local/bin/"+m[1])
	}
	require.Contains(t, string(b), "/usr/local/bin/")
	return out
}

// suiteFlags lists the flags the suite defines (benchmarks/*_test.go).
func suiteFlags(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob("../../benchmarks/*_test.go")
	require.NoError(t, err)
	var out []string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		// flag.String("name", ...), and flag.Var(value, "name", ...) for -trials.
		for _, m := range regexp.MustCompile(`flag\.\w+\((?:\w+, )?"([a-z-]+)"`).FindAllStringSubmatch(string(b), -1) {
			out = append(out, m[1])
		}
	}
	return out
}

func TestShardsJob(t *testing.T) {
	o := load(t)
	job := o.jobs["servegate-shards"]
	require.NotNil(t, job, "deploy/kubernetes has the shards' Job")
	spec := job.Spec
	require.NotNil(t, spec.CompletionMode)
	assert.Equal(t, batchv1.IndexedCompletion, *spec.CompletionMode, "each pod gets JOB_COMPLETION_INDEX: its shard")
	require.NotNil(t, spec.Completions)
	n := int(*spec.Completions)
	assert.Greater(t, n, 1)
	require.NotNil(t, spec.Parallelism)
	assert.Equal(t, n, int(*spec.Parallelism), "every shard runs at once: they wait for each other at the barrier")
	assert.Equal(t, corev1.RestartPolicyNever, spec.Template.Spec.RestartPolicy)

	require.Len(t, spec.Template.Spec.Containers, 1)
	c := spec.Template.Spec.Containers[0]
	count := env(c, "JOB_COMPLETIONS")
	require.NotNil(t, count, "the pods are told the shard count")
	assert.Equal(t, strconv.Itoa(n), count.Value, "JOB_COMPLETIONS is the Job's completions")
	run := env(c, "SERVEGATE_RUN_ID")
	require.NotNil(t, run)
	require.NotNil(t, run.ValueFrom)
	require.NotNil(t, run.ValueFrom.FieldRef)
	assert.Equal(t, "metadata.labels['batch.kubernetes.io/controller-uid']", run.ValueFrom.FieldRef.FieldPath,
		"the barrier is named per Job, so an earlier Job's files release nothing")
	assert.NotNil(t, env(c, "SERVEGATE_URL"), "the shards are pointed at the server")

	claim := ""
	for name := range o.pvcs {
		claim = name
	}
	require.NotEmpty(t, claim, "deploy/kubernetes claims the results volume")
	assert.Contains(t, o.pvcs[claim].Spec.AccessModes, corev1.ReadWriteMany, "every pod mounts the results volume at once")
	at, ok := mount(spec.Template.Spec, c, claim)
	require.True(t, ok, "the shards mount the results volume")
	out, ok := flag(c.Args, "out")
	require.True(t, ok)
	assert.Equal(t, at, out, "records go to the results volume")
	barrier, ok := flag(c.Args, "barrier")
	require.True(t, ok, "the shards share a start: a barrier directory")
	assert.True(t, strings.HasPrefix(barrier, at+"/"), "the barrier is on the shared volume: %s", barrier)

	require.NotEmpty(t, c.Command)
	assert.Contains(t, built(t), c.Command[0], "the image has the binary the shards run")
	known := suiteFlags(t)
	for _, a := range c.Args {
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		if strings.HasPrefix(name, "test.") {
			continue
		}
		assert.Contains(t, known, name, "the suite has a flag -%s", name)
	}
}

func TestMergeJob(t *testing.T) {
	o := load(t)
	job := o.jobs["servegate-merge"]
	require.NotNil(t, job, "deploy/kubernetes has the merge Job")
	c := job.Spec.Template.Spec.Containers[0]
	shards := o.jobs["servegate-shards"]
	claim := shards.Spec.Template.Spec.Volumes[0].PersistentVolumeClaim.ClaimName
	at, ok := mount(job.Spec.Template.Spec, c, claim)
	require.True(t, ok, "the merge reads the volume the shards wrote")
	cmd := strings.Join(append(slices.Clone(c.Command), c.Args...), " ")
	assert.Contains(t, cmd, "/usr/local/bin/servegate-merge -in "+at)
	for _, bin := range regexp.MustCompile(`/usr/local/bin/\S+`).FindAllString(cmd, -1) {
		assert.Contains(t, built(t), bin, "the image has %s", bin)
	}
	assert.Equal(t, shards.Spec.Template.Spec.Containers[0].Image, c.Image, "one image for shards and merge")
}
