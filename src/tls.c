/*
 * tls.c: transport security on OpenSSL, for pingand and for pingan.
 *
 * The daemon builds one server context at start-up (and again on SIGHUP,
 * from the same files) from tls_cert and tls_key; the terminal port with
 * TLS (tls on) and the dashboard (http_tls on) make each connection's SSL
 * from it, inside libevent's OpenSSL bufferevents.  Both sides refuse
 * anything older than TLS 1.2, compression and renegotiation; TLS 1.2 is
 * limited to forward-secret AEAD suites, TLS 1.3 keeps OpenSSL's.
 *
 * The client side (pingan) verifies the server's certificate against a CA
 * file (a town runs its own small CA, docs/TLS.md) and the name or address
 * it was told to connect to; tls_verify_class sorts a failure into the
 * causes the client names to its user.
 *
 * Helpers here do not log: they return what went wrong as a string.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

#include "pingan.h"

/*
 * TLS 1.2 suites: ECDHE key exchange and AEAD ciphers only (Mozilla's
 * "intermediate" list without the DHE ones, which need parameters).
 */
#define TLS_CIPHERS_12							\
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"	\
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"	\
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* Appends the reason of one OpenSSL error code to buf (at off). */
static size_t
tls_error_append(char *buf, size_t size, size_t off, unsigned long e)
{
	const char	*reason;
	char		 one[256];
	int		 n;

	if ((reason = ERR_reason_error_string(e)) == NULL) {
		ERR_error_string_n(e, one, sizeof(one));
		reason = one;
	}
	/* the same reason twice in a row says nothing new */
	if (off > 0 && strlen(reason) <= off &&
	    strcmp(buf + off - strlen(reason), reason) == 0)
		return off;
	n = snprintf(buf + off, size - off, "%s%s", off > 0 ? ": " : "",
	    reason);
	if (n < 0 || (size_t)n >= size - off)
		return size - 1;
	return off + (size_t)n;
}

/*
 * Writes the OpenSSL errors queued in this thread to buf as one line
 * ("unknown error" when there are none) and clears the queue.
 */
const char *
tls_error_string(char *buf, size_t size)
{
	unsigned long	 e;
	size_t		 off = 0;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0)
		off = tls_error_append(buf, size, off, e);
	if (off == 0)
		snprintf(buf, size, "unknown error");
	return buf;
}

/*
 * A context with what both ends share: TLS 1.2 at least, its suites, no
 * compression, no renegotiation.  NULL with the reason in why.
 */
static SSL_CTX *
tls_ctx_new(const SSL_METHOD *method, char *why, size_t size)
{
	SSL_CTX	*ctx;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(method)) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS_12) != 1) {
		tls_error_string(why, size);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION);
	return ctx;
}

/*
 * Builds the server's context from the PEM files cert_path (the
 * certificate, then any intermediate ones) and key_path; checks that the
 * key is the certificate's.  NULL with the reason in ret_err, naming the
 * config key and the file.
 */
SSL_CTX *
tls_server_new(const char *cert_path, const char *key_path, char *ret_err,
    size_t errlen)
{
	SSL_CTX	*ctx;
	char	 why[512];

	if ((ctx = tls_ctx_new(TLS_server_method(), why, sizeof(why))) ==
	    NULL) {
		snprintf(ret_err, errlen, "TLS: cannot set up a context: %s",
		    why);
		return NULL;
	}
	/* Idle connections give their read and write buffers back. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/*
	 * A peer that closes without close_notify has simply closed (as
	 * allow_dirty_shutdown says after the handshake); a request line is
	 * only taken whole, so a cut cannot shorten one.  A port scan is then
	 * no "handshake failed" line in the log.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
		snprintf(ret_err, errlen, "tls_cert '%s': cannot load the "
		    "certificate: %s", cert_path,
		    tls_error_string(why, sizeof(why)));
		goto fail;
	}
	/* OpenSSL checks the key against the certificate as it loads it. */
	if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) !=
	    1 && ERR_GET_REASON(ERR_peek_last_error()) !=
	    X509_R_KEY_VALUES_MISMATCH) {
		snprintf(ret_err, errlen, "tls_key '%s': cannot load the "
		    "private key: %s", key_path,
		    tls_error_string(why, sizeof(why)));
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(ret_err, errlen, "tls_key '%s' is not the key of the "
		    "certificate in tls_cert '%s': %s", key_path, cert_path,
		    tls_error_string(why, sizeof(why)));
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);	/* tls_error_string emptied the error queue */
	return NULL;
}

/* Frees a context (the SSLs made from it hold their own references). */
void
tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

/*
 * Describes the server's certificate: its subject in ret_subject and the
 * whole days until it expires in *ret_days (negative once it has).
 */
int
tls_server_cert_days(SSL_CTX *ctx, char *ret_subject, size_t size,
    int *ret_days)
{
	X509	*x;
	int	 days, secs;

	if ((x = SSL_CTX_get0_certificate(ctx)) == NULL)
		return -ENOENT;
	if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)) != 1)
		return -EINVAL;
	if (days == 0 && secs < 0)
		days = -1;
	X509_NAME_oneline(X509_get_subject_name(x), ret_subject, (int)size);
	*ret_days = days;
	return 0;
}

/*
 * Makes the bufferevent of an accepted connection that speaks TLS (fd -1:
 * evhttp sets it later).  On failure the caller still owns fd.
 */
struct bufferevent *
tls_bufferevent_new(struct event_base *base, int fd, SSL_CTX *ctx)
{
	struct bufferevent	*bev;
	SSL			*ssl;

	if ((ssl = SSL_new(ctx)) == NULL) {
		ERR_clear_error();
		return NULL;
	}
	/*
	 * With BEV_OPT_CLOSE_ON_FREE libevent owns ssl from here, and frees
	 * it if it fails; the socket BIO it makes does not close fd.
	 */
	bev = bufferevent_openssl_socket_new(base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		return NULL;
	/* A terminal that just closes its socket is not an error. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/*
 * The reason for a BEV_EVENT_ERROR on a TLS bufferevent, written to buf:
 * "handshake failed: <reason>", or "error: <reason>" after the handshake.
 * NULL for a plain bufferevent or an error that OpenSSL did not report (a
 * socket error: errno tells it).
 */
const char *
tls_bufferevent_error(struct bufferevent *bev, char *buf, size_t size)
{
	SSL		*ssl;
	unsigned long	 e;
	size_t		 off, start;

	if ((ssl = bufferevent_openssl_get_ssl(bev)) == NULL || size == 0)
		return NULL;
	snprintf(buf, size, "%s", SSL_is_init_finished(ssl) ? "error" :
	    "handshake failed");
	off = start = strlen(buf);
	while ((e = bufferevent_get_openssl_error(bev)) != 0) {
		/* libevent also saves SSL_get_error()'s small codes */
		if (ERR_GET_LIB(e) != 0)
			off = tls_error_append(buf, size, off, e);
	}
	return off > start ? buf : NULL;
}

/* Tells whether a bufferevent speaks TLS. */
bool
tls_bufferevent_is_tls(struct bufferevent *bev)
{
	return bufferevent_openssl_get_ssl(bev) != NULL;
}

/*
 * Sends TLS's close_notify on a connection whose replies are all out, so
 * that the peer can tell the end from a cut.  Nothing for plain ones.
 */
void
tls_bufferevent_close_notify(struct bufferevent *bev)
{
	SSL	*ssl;

	if ((ssl = bufferevent_openssl_get_ssl(bev)) == NULL ||
	    !SSL_is_init_finished(ssl))
		return;
	(void)SSL_shutdown(ssl);
	ERR_clear_error();
}

/* ---- the client side ----------------------------------------------------- */

/*
 * Builds a client context that verifies the server against the PEM CA
 * certificates in ca_file, or against the system's store if ca_file is
 * NULL.  NULL with the reason in ret_err.
 */
SSL_CTX *
tls_client_new(const char *ca_file, char *ret_err, size_t errlen)
{
	SSL_CTX	*ctx;
	char	 why[512];

	if ((ctx = tls_ctx_new(TLS_client_method(), why, sizeof(why))) ==
	    NULL) {
		snprintf(ret_err, errlen, "%s", why);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (ca_file != NULL ?
	    SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1 :
	    SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(ret_err, errlen, "%s",
		    tls_error_string(why, sizeof(why)));
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/*
 * Tells ssl which server the certificate must name: an IP literal must
 * be among its IP addresses, a host name among its DNS names (and is
 * sent as SNI).
 */
int
tls_client_expect(SSL *ssl, const char *host)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;

	if (inet_pton(AF_INET, host, &a4) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
		    host) != 1)
			return -EINVAL;
		return 0;
	}
	if (SSL_set1_host(ssl, host) != 1 ||
	    SSL_set_tlsext_host_name(ssl, host) != 1)
		return -EINVAL;
	return 0;
}

/*
 * Sorts out why a handshake failed, from the certificate check's result
 * and the OpenSSL errors queued (which it leaves for the caller).
 */
enum tls_failure
tls_failure_class(SSL *ssl)
{
	unsigned long	 e;
	int		 reason;

	switch (SSL_get_verify_result(ssl)) {
	case X509_V_OK:
		break;
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return TLS_FAIL_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return TLS_FAIL_NOT_YET_VALID;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		return TLS_FAIL_UNKNOWN_CA;
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		return TLS_FAIL_NAME;
	default:
		return TLS_FAIL_CERT;
	}
	if ((e = ERR_peek_last_error()) == 0 ||
	    ERR_GET_LIB(e) != ERR_LIB_SSL)
		return TLS_FAIL_OTHER;
	reason = ERR_GET_REASON(e);
	switch (reason) {
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_PACKET_LENGTH_TOO_LONG:
	case SSL_R_RECORD_LENGTH_MISMATCH:
	case SSL_R_UNEXPECTED_RECORD:
	case SSL_R_UNKNOWN_PROTOCOL:
		return TLS_FAIL_NOT_TLS;
	case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
		return TLS_FAIL_VERSION;
	default:
		return TLS_FAIL_OTHER;
	}
}
