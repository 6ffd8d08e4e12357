package testserver

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// checkSignature checks a request's AWS Signature Version 4 (Authorization header)
// against keys, as S3 does: it signs the same request again with the secret key of the
// request's access key id and compares the signatures. It returns "" when they match, or
// S3's error code and message.
func checkSignature(r *http.Request, keys map[string]string) (code, msg string) {
	auth := r.Header.Get("Authorization")
	const scheme = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, scheme) {
		return "AccessDenied", "Access Denied"
	}
	fields := map[string]string{}
	for _, f := range strings.Split(strings.TrimPrefix(auth, scheme), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/") // id/date/region/service/aws4_request
	if len(scope) != 5 {
		return "AuthorizationHeaderMalformed", "The authorization header is malformed"
	}
	secret, ok := keys[scope[0]]
	if !ok {
		return "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "AccessDenied", "X-Amz-Date is missing or malformed"
	}
	again, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	if err != nil {
		return "AccessDenied", err.Error()
	}
	again.Host = r.Host
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		switch h {
		case "host":
		case "content-length":
			again.ContentLength = r.ContentLength
		default:
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	err = signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: scope[0], SecretAccessKey: secret},
		again, r.Header.Get("X-Amz-Content-Sha256"), scope[3], scope[2], at)
	if err != nil {
		return "AccessDenied", err.Error()
	}
	if !strings.HasSuffix(again.Header.Get("Authorization"), "Signature="+fields["Signature"]) {
		return "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method."
	}
	return "", ""
}
