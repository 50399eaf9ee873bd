package keys

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
)

// Encrypted PKCS#8 keys use PBES2 (RFC 8018 §6.2) with PBKDF2 (RFC 8018
// §5.2) and AES-CBC (RFC 3565 §4.1 OIDs), the scheme that OpenSSL 3 writes
// by default with `openssl pkcs8 -topk8`. Other schemes (PBES1, scrypt,
// DES-EDE3) are rejected with an error that names a conversion command.

// pemTypeEncryptedPKCS8 is the PEM block type of an EncryptedPrivateKeyInfo (RFC 7468 §11).
const pemTypeEncryptedPKCS8 = "ENCRYPTED PRIVATE KEY"

// PBKDF2Iterations is the iteration count EncryptPKCS8 writes: 600,000
// rounds of HMAC-SHA256, the OWASP Password Storage Cheat Sheet (2023)
// figure for PBKDF2-HMAC-SHA256.
const PBKDF2Iterations = 600_000

// maxPBKDF2Iterations bounds the iteration count read from a file, so a
// damaged or hostile file cannot stall the server at start.
const maxPBKDF2Iterations = 10_000_000

var (
	oidPBES2  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}

	oidHMACWithSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}

	oidAES128CBC = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
)

// errWrongPassphrase is returned when decryption yields no valid PKCS#8
// structure. CBC without a MAC cannot tell a wrong passphrase from a
// damaged file, so the message names both.
var errWrongPassphrase = errors.New("decryption failed: wrong passphrase or damaged file")

// encryptedPrivateKeyInfo is EncryptedPrivateKeyInfo (RFC 5958 §3).
type encryptedPrivateKeyInfo struct {
	Algorithm     pkix.AlgorithmIdentifier
	EncryptedData []byte
}

// pbes2Params is PBES2-params (RFC 8018 Appendix A.4).
type pbes2Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	EncryptionScheme  pkix.AlgorithmIdentifier
}

// pbkdf2Params is PBKDF2-params (RFC 8018 Appendix A.2). Only the
// "specified" (OCTET STRING) salt is supported, as in every common encoder.
type pbkdf2Params struct {
	Salt           []byte
	IterationCount int
	KeyLength      int                      `asn1:"optional"`
	PRF            pkix.AlgorithmIdentifier `asn1:"optional"`
}

// EncryptPKCS8 encrypts a DER PKCS#8 PrivateKeyInfo under passphrase and
// returns the DER EncryptedPrivateKeyInfo: PBES2 with PBKDF2-HMAC-SHA256
// (PBKDF2Iterations rounds, 16-byte random salt) and AES-256-CBC.
func EncryptPKCS8(privateKeyInfo []byte, passphrase string) ([]byte, error) {
	if passphrase == "" {
		return nil, errors.New("encrypt PKCS#8 key: the passphrase is empty")
	}

	salt := make([]byte, 16)
	iv := make([]byte, aes.BlockSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("encrypt PKCS#8 key: %w", err)
	}
	if _, err := rand.Read(iv); err != nil {
		return nil, fmt.Errorf("encrypt PKCS#8 key: %w", err)
	}

	key, err := pbkdf2.Key(sha256.New, passphrase, salt, PBKDF2Iterations, 32)
	if err != nil {
		return nil, fmt.Errorf("encrypt PKCS#8 key: derive key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("encrypt PKCS#8 key: %w", err)
	}
	ciphertext := padPKCS7(privateKeyInfo, aes.BlockSize)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ciphertext, ciphertext)

	params, err := marshalPBES2Params(salt, iv)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(encryptedPrivateKeyInfo{
		Algorithm:     pkix.AlgorithmIdentifier{Algorithm: oidPBES2, Parameters: asn1.RawValue{FullBytes: params}},
		EncryptedData: ciphertext,
	})
}

func marshalPBES2Params(salt, iv []byte) ([]byte, error) {
	kdf, err := asn1.Marshal(pbkdf2Params{
		Salt:           salt,
		IterationCount: PBKDF2Iterations,
		PRF:            pkix.AlgorithmIdentifier{Algorithm: oidHMACWithSHA256, Parameters: asn1.NullRawValue},
	})
	if err != nil {
		return nil, fmt.Errorf("encode PBKDF2 parameters: %w", err)
	}
	ivDER, err := asn1.Marshal(iv)
	if err != nil {
		return nil, fmt.Errorf("encode AES IV: %w", err)
	}
	return asn1.Marshal(pbes2Params{
		KeyDerivationFunc: pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: kdf}},
		EncryptionScheme:  pkix.AlgorithmIdentifier{Algorithm: oidAES256CBC, Parameters: asn1.RawValue{FullBytes: ivDER}},
	})
}

// DecryptPKCS8 decrypts a DER EncryptedPrivateKeyInfo and returns the DER
// PrivateKeyInfo inside. It accepts PBES2 with PBKDF2 (HMAC-SHA1, -SHA256,
// -SHA384 or -SHA512) and AES-128, -192 or -256 in CBC mode.
func DecryptPKCS8(der []byte, passphrase string) ([]byte, error) {
	var info encryptedPrivateKeyInfo
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) > 0 {
		return nil, errors.New("invalid EncryptedPrivateKeyInfo structure")
	}
	if !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("unsupported encryption scheme %s; re-encrypt with `openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256`",
			info.Algorithm.Algorithm)
	}

	var params pbes2Params
	if rest, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &params); err != nil || len(rest) > 0 {
		return nil, errors.New("invalid PBES2 parameters")
	}
	key, err := deriveKey(params, passphrase)
	if err != nil {
		return nil, err
	}
	return decryptAESCBC(params.EncryptionScheme, key, info.EncryptedData)
}

// deriveKey runs PBKDF2 with the parameters of the file. The key length
// comes from the cipher, since keyLength is optional in PBKDF2-params.
func deriveKey(params pbes2Params, passphrase string) ([]byte, error) {
	if !params.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("unsupported key derivation function %s; re-encrypt with `openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256`",
			params.KeyDerivationFunc.Algorithm)
	}
	var kdf pbkdf2Params
	if rest, err := asn1.Unmarshal(params.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil || len(rest) > 0 {
		return nil, errors.New("invalid PBKDF2 parameters")
	}
	if kdf.IterationCount < 1 || kdf.IterationCount > maxPBKDF2Iterations {
		return nil, fmt.Errorf("PBKDF2 iteration count %d is outside 1..%d", kdf.IterationCount, maxPBKDF2Iterations)
	}

	prf, err := prfHash(kdf.PRF.Algorithm)
	if err != nil {
		return nil, err
	}
	keyLength, err := aesKeyLength(params.EncryptionScheme.Algorithm)
	if err != nil {
		return nil, err
	}
	if kdf.KeyLength != 0 && kdf.KeyLength != keyLength {
		return nil, fmt.Errorf("PBKDF2 key length %d does not match the cipher's %d bytes", kdf.KeyLength, keyLength)
	}
	return pbkdf2.Key(prf, passphrase, kdf.Salt, kdf.IterationCount, keyLength)
}

// prfHash maps a PBKDF2 PRF OID to its hash. An absent PRF means
// HMAC-SHA1, the default in PBKDF2-params.
func prfHash(oid asn1.ObjectIdentifier) (func() hash.Hash, error) {
	switch {
	case len(oid) == 0, oid.Equal(oidHMACWithSHA1):
		return sha1.New, nil
	case oid.Equal(oidHMACWithSHA256):
		return sha256.New, nil
	case oid.Equal(oidHMACWithSHA384):
		return sha512.New384, nil
	case oid.Equal(oidHMACWithSHA512):
		return sha512.New, nil
	}
	return nil, fmt.Errorf("unsupported PBKDF2 PRF %s; use hmacWithSHA256", oid)
}

func aesKeyLength(oid asn1.ObjectIdentifier) (int, error) {
	switch {
	case oid.Equal(oidAES128CBC):
		return 16, nil
	case oid.Equal(oidAES192CBC):
		return 24, nil
	case oid.Equal(oidAES256CBC):
		return 32, nil
	}
	return 0, fmt.Errorf("unsupported cipher %s; re-encrypt with `openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256`", oid)
}

func decryptAESCBC(scheme pkix.AlgorithmIdentifier, key, ciphertext []byte) ([]byte, error) {
	var iv []byte
	if rest, err := asn1.Unmarshal(scheme.Parameters.FullBytes, &iv); err != nil || len(rest) > 0 || len(iv) != aes.BlockSize {
		return nil, errors.New("invalid AES-CBC parameters: the IV must be a 16-byte OCTET STRING")
	}
	if len(ciphertext) == 0 || len(ciphertext)%aes.BlockSize != 0 {
		return nil, errors.New("invalid encrypted key: the length is not a multiple of the AES block size")
	}

	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	plaintext := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plaintext, ciphertext)

	unpadded, ok := unpadPKCS7(plaintext, aes.BlockSize)
	if !ok {
		return nil, errWrongPassphrase
	}
	return unpadded, nil
}

// padPKCS7 appends PKCS#7 padding (RFC 5652 §6.3), which AES-CBC in PBES2
// uses: 1 to blockSize bytes, each equal to the padding length.
func padPKCS7(data []byte, blockSize int) []byte {
	n := blockSize - len(data)%blockSize
	return append(bytes.Clone(data), bytes.Repeat([]byte{byte(n)}, n)...)
}

func unpadPKCS7(data []byte, blockSize int) ([]byte, bool) {
	if len(data) == 0 {
		return nil, false
	}
	n := int(data[len(data)-1])
	if n == 0 || n > blockSize || n > len(data) {
		return nil, false
	}
	for _, b := range data[len(data)-n:] {
		if int(b) != n {
			return nil, false
		}
	}
	return data[:len(data)-n], true
}
