package api

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/manifest"
	"github.com/backbone-dev/backbone/internal/testcorpus"
)

func TestCRDsInstalled(t *testing.T) {
	g := NewWithT(t)
	want := map[string]struct {
		short   []string
		columns []string
	}{
		"initiatives.impact.backbone.dev": {[]string{"ini"}, []string{"Partners", "Indicators", "On track", "Ready", "Age"}},
		"datasources.impact.backbone.dev": {[]string{"dsrc"}, []string{"Partner", "Format", "Rows", "Rejected", "Last success", "Ready", "Age"}},
		"indicators.impact.backbone.dev":  {[]string{"ind"}, []string{"Value", "Target", "Gap", "Period", "Ready", "Age"}},
	}
	for name, w := range want {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		g.Expect(k8s.Get(context.Background(), client.ObjectKey{Name: name}, crd)).To(Succeed())
		g.Expect(crd.Spec.Scope).To(Equal(apiextensionsv1.NamespaceScoped), name)
		g.Expect(crd.Spec.Names.ShortNames).To(Equal(w.short), name)
		g.Expect(crd.Spec.Names.Categories).To(ConsistOf("backbone"), name)
		g.Expect(crd.Spec.Versions).To(HaveLen(1))
		v := crd.Spec.Versions[0]
		g.Expect(v.Subresources).NotTo(BeNil())
		g.Expect(v.Subresources.Status).NotTo(BeNil(), "%s has a status subresource", name)
		var cols []string
		for _, c := range v.AdditionalPrinterColumns {
			cols = append(cols, c.Name)
		}
		g.Expect(cols).To(Equal(w.columns), name)
		established := false
		for _, c := range crd.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				established = true
			}
		}
		g.Expect(established).To(BeTrue(), "%s is established", name)
	}
}

// sampleObjects decodes every manifest of config/samples.
func sampleObjects(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "..", "config", "samples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var objs []*unstructured.Unstructured
	for _, p := range paths {
		if filepath.Base(p) == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := manifest.Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		objs = append(objs, docs...)
	}
	if len(objs) == 0 {
		t.Fatal("no samples found in config/samples")
	}
	return objs
}

func TestSamplesAccepted(t *testing.T) {
	g := NewWithT(t)
	kinds := map[string]int{}
	for _, u := range sampleObjects(t) {
		u.SetNamespace("samples")
		g.Expect(k8s.Create(context.Background(), u)).To(Succeed(), "sample %s/%s", u.GetKind(), u.GetName())
		kinds[u.GetKind()]++
	}
	g.Expect(kinds["Initiative"]).To(BeNumerically(">=", 1))
	g.Expect(kinds["DataSource"]).To(BeNumerically(">=", 2))
	g.Expect(kinds["Indicator"]).To(BeNumerically(">=", 2))

	// The typed client reads them back into the Go types without loss of known fields.
	var inds impactv1.IndicatorList
	g.Expect(k8s.List(context.Background(), &inds, client.InNamespace("samples"))).To(Succeed())
	g.Expect(inds.Items).To(HaveLen(kinds["Indicator"]))
}

func TestInvalidCorpusRejected(t *testing.T) {
	cases, err := testcorpus.Load(filepath.Join("..", "..", "testdata", "invalid"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			g := NewWithT(t)
			ctx := context.Background()
			objs := c.Objects
			for _, o := range objs {
				o.SetNamespace("corpus")
			}
			target := objs[0]
			if len(objs) == 2 {
				g.Expect(k8s.Create(ctx, objs[0])).To(Succeed(), "the first document of an update case is valid")
				target = objs[1]
				target.SetResourceVersion(objs[0].GetResourceVersion())
				err = k8s.Update(ctx, target)
			} else {
				err = k8s.Create(ctx, target)
			}
			g.Expect(err).To(HaveOccurred(), "the API server accepted %s", c.Name)
			var status *apierrors.StatusError
			g.Expect(errors.As(err, &status)).To(BeTrue(), "error is an API status: %v", err)
			g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "error is Invalid: %v", err)
			g.Expect(causeMatches(status.ErrStatus.Details, c.Field, c.Message)).To(BeTrue(),
				"want field %q with message containing %q, got: %v", c.Field, c.Message, err)
		})
	}
}

// causeMatches reports whether a cause names field (empty: any) with a message containing msg.
func causeMatches(d *metav1.StatusDetails, field, msg string) bool {
	if d == nil {
		return false
	}
	for _, cause := range d.Causes {
		if (field == "" || cause.Field == field) && strings.Contains(cause.Message, msg) {
			return true
		}
	}
	return false
}

func TestDefaults(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ini := &impactv1.Initiative{
		ObjectMeta: metav1.ObjectMeta{Name: "defaults", Namespace: "defaults"},
		Spec: impactv1.InitiativeSpec{
			Partners:   []impactv1.Partner{{Name: "ncusd", Sector: impactv1.SectorEducation}},
			Vocabulary: []impactv1.Dimension{{Name: "income", Values: []impactv1.GroupName{"Low income", "Not low income"}}},
			Equity:     &impactv1.EquitySpec{},
			Dashboard:  &impactv1.DashboardSpec{},
		},
	}
	g.Expect(k8s.Create(ctx, ini)).To(Succeed())
	g.Expect(ini.Spec.TimeZone).To(Equal("UTC"))
	g.Expect(ini.Spec.Vocabulary[0].Unknown).To(Equal(impactv1.GroupName("Unknown")))
	g.Expect(ini.Spec.Equity.MinCellSize).To(HaveValue(BeEquivalentTo(impactv1.DefaultMinCellSize)))
	g.Expect(ini.Spec.Dashboard.Enabled).To(HaveValue(BeTrue()))

	ds := &impactv1.DataSource{
		ObjectMeta: metav1.ObjectMeta{Name: "defaults", Namespace: "defaults"},
		Spec: impactv1.DataSourceSpec{
			InitiativeRef: impactv1.LocalObjectReference{Name: "defaults"},
			Partner:       "ncusd",
			Format:        impactv1.FormatCSV,
			CSV:           &impactv1.CSVOptions{},
			Location:      impactv1.Location{File: &impactv1.FileLocation{Path: "k.csv"}},
			Schema:        impactv1.Schema{Columns: []impactv1.Column{{Name: "day", Type: impactv1.ColumnDate}}},
			Retention:     &impactv1.Retention{},
		},
	}
	g.Expect(k8s.Create(ctx, ds)).To(Succeed())
	g.Expect(ds.Spec.MaxRejectPercent).To(HaveValue(BeEquivalentTo(5)))
	g.Expect(ds.Spec.CSV.Delimiter).To(Equal(","))
	g.Expect(ds.Spec.CSV.Header).To(HaveValue(BeTrue()))
	g.Expect(ds.Spec.Retention.Snapshots).To(BeEquivalentTo(30))

	ind := &impactv1.Indicator{
		ObjectMeta: metav1.ObjectMeta{Name: "defaults", Namespace: "defaults"},
		Spec: impactv1.IndicatorSpec{
			InitiativeRef: impactv1.LocalObjectReference{Name: "defaults"},
			Polarity:      impactv1.HigherIsBetter,
			Measure: impactv1.Measure{Type: impactv1.MeasureCount, Numerator: impactv1.Operand{
				SourceRef: impactv1.LocalObjectReference{Name: "defaults"}, TimeColumn: "day"}},
			Privacy: &impactv1.PrivacySpec{},
		},
	}
	g.Expect(k8s.Create(ctx, ind)).To(Succeed())
	g.Expect(ind.Spec.Time).NotTo(BeNil())
	g.Expect(ind.Spec.Time.Grain).To(Equal(impactv1.GrainYear))
	// Unset means "the Initiative's value": no CRD default may fill it in.
	g.Expect(ind.Spec.Privacy.MinCellSize).To(BeNil())
}

func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(assets, "kubectl"), append([]string{"--kubeconfig", kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestKubectlExplain(t *testing.T) {
	g := NewWithT(t)
	// kubectl wraps descriptions; compare with single spaces.
	out := strings.Join(strings.Fields(kubectl(t, "explain", "indicator.spec.measure")), " ")
	g.Expect(out).To(ContainSubstring("KIND: Indicator"))
	g.Expect(out).To(ContainSubstring("Measure says what is computed in every cell"))
	g.Expect(out).To(ContainSubstring("Rate: numerator events over a denominator population, times per."))
	g.Expect(out).To(ContainSubstring("denominator"))
	g.Expect(out).To(ContainSubstring("Count, Sum, Mean, Proportion, Ratio, Rate or DistinctCount"))
	out = strings.Join(strings.Fields(kubectl(t, "explain", "datasource.spec.schema.frequencyColumn")), " ")
	g.Expect(out).To(ContainSubstring("each row stands for this many people"))
}

func TestKubectlGetCategory(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := "category"
	g.Expect(k8s.Create(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}})).To(Succeed())
	for _, u := range sampleObjects(t) {
		u.SetNamespace(ns)
		g.Expect(k8s.Create(ctx, u)).To(Succeed())
	}
	out := kubectl(t, "get", "backbone", "-n", ns)
	g.Expect(out).To(ContainSubstring("initiative.impact.backbone.dev/ready-by-five"))
	g.Expect(out).To(ContainSubstring("datasource.impact.backbone.dev/ncusd-kindergarten"))
	g.Expect(out).To(ContainSubstring("indicator.impact.backbone.dev/kindergarten-readiness"))
	// Short names resolve, and printer columns are served.
	out = kubectl(t, "get", "ind", "-n", ns)
	g.Expect(out).To(MatchRegexp(`NAME\s+VALUE\s+TARGET\s+GAP\s+PERIOD\s+READY\s+AGE`))
	g.Expect(out).To(MatchRegexp(`kindergarten-readiness\s+0\.80`))
	out = kubectl(t, "get", "dsrc", "-n", ns)
	g.Expect(out).To(MatchRegexp(`NAME\s+PARTNER\s+FORMAT\s+ROWS\s+REJECTED\s+LAST SUCCESS\s+READY`))
	out = kubectl(t, "get", "ini", "-n", ns)
	g.Expect(out).To(MatchRegexp(`NAME\s+PARTNERS\s+INDICATORS\s+ON TRACK\s+READY\s+AGE`))
}
