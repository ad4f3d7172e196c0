package buildtags

import (
	"testing"

	"github.com/leafbox/leafbox/internal/feature"
)

// TestDefaultBuildHasAll runs without tags (as `go test ./...` does): the
// default build has every part. cmd/leafbox's TestFeatureTagsLinks and
// TestOmittedFeatureConfig cover the builds with tags.
func TestDefaultBuildHasAll(t *testing.T) {
	for _, f := range feature.All() {
		if !Has(f) || Check(f) != nil {
			t.Errorf("default build: Has(%v) = false", f)
		}
	}
	if Has(feature.Feature(-1)) {
		t.Error("Has(unknown feature) = true")
	}
}
