// Package kubernetes holds hookproof's Kubernetes manifests (kustomize) and the test that
// decodes them strictly with the Kubernetes API types and runs the load Job's pods as local
// processes.
package kubernetes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// kustomization is the part of kustomize's Kustomization these manifests use; unknown fields
// are refused like the API types' are.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace"`
	Resources  []string `json:"resources"`
	Labels     []struct {
		Pairs map[string]string `json:"pairs"`
	} `json:"labels"`
	Images []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
	} `json:"images"`
}

// manifests is every object of the kustomization, decoded into its API type.
type manifests struct {
	kust        kustomization
	namespaces  []corev1.Namespace
	configMaps  []corev1.ConfigMap
	secrets     []corev1.Secret
	pvcs        []corev1.PersistentVolumeClaim
	services    []corev1.Service
	deployments []appsv1.Deployment
	jobs        []batchv1.Job
}

func strict(doc []byte, into any) error {
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}

func decodeAll(t *testing.T) manifests {
	t.Helper()
	var m manifests
	b, err := os.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := strict(b, &m.kust); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	files, _ := filepath.Glob("*.yaml")
	for _, f := range files {
		if f != "kustomization.yaml" && !slices.Contains(m.kust.Resources, f) {
			t.Errorf("%s is not in kustomization.yaml's resources", f)
		}
	}
	for _, f := range m.kust.Resources {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("kustomization.yaml lists %s: %v", f, err)
		}
		for i, doc := range bytes.Split(b, []byte("\n---\n")) {
			var head struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
			}
			j, err := yaml.YAMLToJSON(doc)
			if err != nil || json.Unmarshal(j, &head) != nil {
				t.Fatalf("%s document %d: not YAML: %v", f, i+1, err)
			}
			var into any
			switch head.APIVersion + " " + head.Kind {
			case "v1 Namespace":
				m.namespaces = append(m.namespaces, corev1.Namespace{})
				into = &m.namespaces[len(m.namespaces)-1]
			case "v1 ConfigMap":
				m.configMaps = append(m.configMaps, corev1.ConfigMap{})
				into = &m.configMaps[len(m.configMaps)-1]
			case "v1 Secret":
				m.secrets = append(m.secrets, corev1.Secret{})
				into = &m.secrets[len(m.secrets)-1]
			case "v1 PersistentVolumeClaim":
				m.pvcs = append(m.pvcs, corev1.PersistentVolumeClaim{})
				into = &m.pvcs[len(m.pvcs)-1]
			case "v1 Service":
				m.services = append(m.services, corev1.Service{})
				into = &m.services[len(m.services)-1]
			case "apps/v1 Deployment":
				m.deployments = append(m.deployments, appsv1.Deployment{})
				into = &m.deployments[len(m.deployments)-1]
			case "batch/v1 Job":
				m.jobs = append(m.jobs, batchv1.Job{})
				into = &m.jobs[len(m.jobs)-1]
			default:
				t.Fatalf("%s document %d: unexpected %s %s", f, i+1, head.APIVersion, head.Kind)
			}
			if err := strict(doc, into); err != nil {
				t.Fatalf("%s document %d (%s): %v", f, i+1, head.Kind, err)
			}
		}
	}
	return m
}

func (m manifests) job(t *testing.T, name string) batchv1.Job {
	t.Helper()
	for _, j := range m.jobs {
		if j.Name == name {
			return j
		}
	}
	t.Fatalf("no Job %s", name)
	return batchv1.Job{}
}

func (m manifests) config(t *testing.T) map[string]string {
	t.Helper()
	if len(m.configMaps) != 1 {
		t.Fatalf("%d ConfigMaps, want the run's one", len(m.configMaps))
	}
	return m.configMaps[0].Data
}

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// expand replaces $(VAR) in s as the kubelet does for a container's args.
func expand(s string, env map[string]string) (string, error) {
	var missing []string
	out := varRef.ReplaceAllStringFunc(s, func(ref string) string {
		name := varRef.FindStringSubmatch(ref)[1]
		v, ok := env[name]
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("%q uses undefined %s", s, strings.Join(missing, ", "))
	}
	return out, nil
}

// podEnv is the environment a container of the kustomization gets: its envFrom ConfigMaps and
// its env, with secretKeyRef values from the Secrets.
func (m manifests) podEnv(t *testing.T, c corev1.Container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			t.Fatalf("container %s: envFrom other than a ConfigMap", c.Name)
		}
		found := false
		for _, cm := range m.configMaps {
			if cm.Name == from.ConfigMapRef.Name {
				found = true
				for k, v := range cm.Data {
					env[k] = v
				}
			}
		}
		if !found {
			t.Fatalf("container %s: no ConfigMap %s", c.Name, from.ConfigMapRef.Name)
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			found := false
			for _, s := range m.secrets {
				if v, ok := s.StringData[ref.Key]; ok && s.Name == ref.Name {
					env[e.Name], found = v, true
				}
			}
			if !found {
				t.Fatalf("container %s: env %s: no Secret %s with key %s", c.Name, e.Name, ref.Name, ref.Key)
			}
		case e.ValueFrom != nil:
			t.Fatalf("container %s: env %s: only secretKeyRef is used here", c.Name, e.Name)
		default:
			env[e.Name] = e.Value
		}
	}
	return env
}

func TestManifestsDecodeStrictly(t *testing.T) {
	m := decodeAll(t)
	load := m.job(t, "hookproof-load")
	cfg := m.config(t)
	switch {
	case load.Spec.CompletionMode == nil || *load.Spec.CompletionMode != batchv1.IndexedCompletion:
		t.Error("the load Job is not an Indexed Job")
	case load.Spec.Completions == nil || load.Spec.Parallelism == nil || *load.Spec.Completions != *load.Spec.Parallelism:
		t.Error("the load Job's completions and parallelism differ")
	case fmt.Sprint(*load.Spec.Completions) != cfg["HOOKPROOF_SHARDS"]:
		t.Errorf("the load Job has %d completions, the ConfigMap HOOKPROOF_SHARDS %q", *load.Spec.Completions, cfg["HOOKPROOF_SHARDS"])
	}
	for _, j := range m.jobs {
		for _, c := range j.Spec.Template.Spec.Containers {
			env := m.podEnv(t, c)
			env["JOB_COMPLETION_INDEX"] = "0"
			for _, a := range append(slices.Clone(c.Command), c.Args...) {
				if _, err := expand(a, env); err != nil {
					t.Errorf("Job %s: %v", j.Name, err)
				}
			}
		}
	}
	// The Service reaches the sink's pods on the port the sink listens on.
	if len(m.services) != 1 || len(m.deployments) != 1 {
		t.Fatalf("%d Services and %d Deployments, want the sink's one each", len(m.services), len(m.deployments))
	}
	svc, dep := m.services[0], m.deployments[0]
	for k, v := range svc.Spec.Selector {
		if dep.Spec.Template.Labels[k] != v {
			t.Errorf("the Service selects %s=%s, the sink's pods do not have it", k, v)
		}
	}
	if !strings.Contains(cfg["HOOKPROOF_SINK_URL"], svc.Name+"."+m.kust.Namespace+".svc") {
		t.Errorf("HOOKPROOF_SINK_URL %q does not name the sink's Service %s in namespace %s", cfg["HOOKPROOF_SINK_URL"], svc.Name, m.kust.Namespace)
	}
}
