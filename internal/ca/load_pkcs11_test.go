//go:build cgo

package ca

import (
	"context"
	"strings"
	"testing"

	"github.com/docsign-ca/docsign-ca/internal/keys"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

func TestLoadWithKeysPKCS11(t *testing.T) {
	ctx := context.Background()
	p := newTestPKCS11(t)
	opener := &keys.Opener{PKCS11: p}

	rsaSigner, rsaURI, err := opener.GenerateKey(keys.PKCS11URI{Token: testToken, Object: "load-rsa"}.String(), keys.RSA3072)
	if err != nil {
		t.Fatal(err)
	}
	ecSigner, ecURI, err := opener.GenerateKey(keys.PKCS11URI{Token: testToken, Object: "load-ec"}.String(), keys.ECDSAP384)
	if err != nil {
		t.Fatal(err)
	}

	root := newTestRoot(t)
	st := openTestStore(t)
	rootID := insertRoot(t, st, root)
	rsaID := insertIntermediate(t, st, rootID, store.CA{CACertID: "RSA1", KeyURI: rsaURI, CertDER: root.currentIntermediate(t, "RSA issuing", rsaSigner.Public())})
	ecID := insertIntermediate(t, st, rootID, store.CA{CACertID: "ECC1", KeyURI: ecURI, CertDER: root.currentIntermediate(t, "ECC issuing", ecSigner.Public())})

	service, err := LoadWithKeys(ctx, st, discardLogger(), opener)
	if err != nil {
		t.Fatalf("LoadWithKeys: %v", err)
	}
	for _, id := range []int64{rsaID, ecID} {
		if _, ok := service.Issuer(id); !ok {
			t.Errorf("CA %d is not loaded", id)
		}
	}
}

func TestLoadWithKeysPKCS11Mismatch(t *testing.T) {
	p := newTestPKCS11(t)
	opener := &keys.Opener{PKCS11: p}
	_, uri, err := opener.GenerateKey(keys.PKCS11URI{Token: testToken, Object: "load-mismatch"}.String(), keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	other, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}

	root := newTestRoot(t)
	st := openTestStore(t)
	rootID := insertRoot(t, st, root)
	insertIntermediate(t, st, rootID, store.CA{CACertID: "MISMATCH", KeyURI: uri, CertDER: root.currentIntermediate(t, "Mismatch", other.Public())})

	_, err = LoadWithKeys(context.Background(), st, discardLogger(), opener)
	if err == nil || !strings.Contains(err.Error(), "does not match the certificate's public key") {
		t.Fatalf("LoadWithKeys: got %v, want a key mismatch error", err)
	}
}
