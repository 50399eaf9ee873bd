package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/store"
)

type caLine struct {
	CACertID    string `json:"ca_cert_id"`
	Role        string `json:"role"`
	Status      string `json:"status"`
	Default     bool   `json:"default"`
	Development bool   `json:"development"`
	Subject     string `json:"subject"`
	NotAfter    string `json:"not_after"`
	KeyURI      string `json:"key_uri"`
}

// listCAs prints the CAs of the database; the default issuing CA is the
// first active intermediate, as the server chooses it.
func listCAs(args []string) error {
	fs := flag.NewFlagSet("docsign-ca ca list", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "./docsign-data", "data directory of the server")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	if help, err := parseOperatorFlags(fs, args, "docsign-ca ca list [--json]"); help || err != nil {
		return err
	}

	ctx := context.Background()
	st, err := openExistingDataDir(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	cas, err := st.CAs(ctx)
	if err != nil {
		return err
	}

	lines := caLines(cas)
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		for _, l := range lines {
			if err := enc.Encode(l); err != nil {
				return err
			}
		}
		return nil
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CA_CERT_ID\tROLE\tSTATUS\tDEFAULT\tDEVELOPMENT\tNOT AFTER\tSUBJECT\tKEY")
	for _, l := range lines {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.CACertID, l.Role, l.Status, yesNo(l.Default), yesNo(l.Development),
			l.NotAfter, l.Subject, l.KeyURI)
	}
	return tw.Flush()
}

func caLines(cas []store.CA) []caLine {
	lines := make([]caLine, 0, len(cas))
	defaultFound := false
	for _, c := range cas {
		line := caLine{CACertID: c.CACertID, Role: c.Role, Status: c.Status, Development: c.Development, Subject: c.CommonName, KeyURI: c.KeyURI}
		if cert, err := x509.ParseCertificate(c.CertDER); err == nil {
			line.Subject = cert.Subject.String()
			line.NotAfter = cert.NotAfter.UTC().Format(time.RFC3339)
		}
		if !defaultFound && c.Role == store.CAIntermediate && c.Status == store.CAActive {
			line.Default, defaultFound = true, true
		}
		lines = append(lines, line)
	}
	return lines
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// retireCA stops new issuance from an intermediate. The server keeps its
// key loaded for CRLs, and applies the change at its next start.
func retireCA(args []string) error {
	fs := flag.NewFlagSet("docsign-ca ca retire", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "./docsign-data", "data directory of the server")
	caCertID := fs.String("ca-cert-id", "", "ca_cert_id of the issuing CA to retire, as `docsign-ca ca list` shows it (required)")
	if help, err := parseOperatorFlags(fs, args, "docsign-ca ca retire --ca-cert-id ID"); help || err != nil {
		return err
	}
	if strings.TrimSpace(*caCertID) == "" {
		return errors.New("missing --ca-cert-id; `docsign-ca ca list` shows the ids")
	}

	ctx := context.Background()
	st, err := openExistingDataDir(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer st.Close()

	retired, err := st.RetireCA(ctx, *caCertID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no CA with ca_cert_id %q; `docsign-ca ca list` shows the ids", *caCertID)
	}
	if err != nil {
		return err
	}
	fmt.Printf("retired issuing CA %s (%s); restart the server to stop issuance from it. It keeps signing CRLs.\n",
		retired.CACertID, retired.CommonName)
	return nil
}
