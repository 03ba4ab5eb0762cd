// The lab Message Processor's southbound HTTPS client: one long-running JVM that reads JSON requests, one per line, on
// stdin and writes one JSON response per line on stdout (matched by "id"; requests run concurrently).
// Every call builds its own JSSE SSLContext, as the MP does from a target's SSLInfo:
//   - key managers (only when client auth is enabled): an in-memory PKCS#12 KeyStore holding the alias's private key
//     and its stored chain, through KeyManagerFactory "SunX509" (the MP default) or "PKIX";
//   - trust managers: the truststore's certificates (PKIX), or accept-all when no truststore is configured or
//     validation errors are ignored;
//   - the enabled protocols and cipher suites from SSLInfo.
// Request fields: id, host, port, method, path, headers{}, body_b64, tls, client_auth, alias, key_pkcs8_b64, chain_pem,
//   trust_pem[] (or null), ignore_validation_errors, protocols[], ciphers[], key_manager, timeout_ms.
// Response: {id, ok:true, status, reason, headers:[[k,v]], body_b64, protocol, cipher, local_port, elapsed_ms} or
//   {id, ok:false, stage, exception, message, stack[], local_port, elapsed_ms}.
import java.io.*;
import java.net.*;
import java.nio.charset.StandardCharsets;
import java.security.*;
import java.security.cert.*;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.*;
import java.util.concurrent.*;
import javax.net.ssl.*;

public class MpClient {

    // ---- minimal JSON (objects, arrays, strings, numbers, booleans, null) ----
    static final class Json {
        final String s;
        int i;
        Json(String s) { this.s = s; }

        static Object parse(String text) {
            Json j = new Json(text);
            Object v = j.value();
            j.ws();
            if (j.i != j.s.length()) throw new IllegalArgumentException("trailing data in JSON");
            return v;
        }
        void ws() { while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++; }
        Object value() {
            ws();
            char c = s.charAt(i);
            if (c == '{') {
                Map<String, Object> m = new LinkedHashMap<>();
                i++; ws();
                if (s.charAt(i) == '}') { i++; return m; }
                while (true) {
                    ws();
                    String k = str();
                    ws(); expect(':');
                    m.put(k, value());
                    ws();
                    if (s.charAt(i) == ',') { i++; continue; }
                    expect('}');
                    return m;
                }
            }
            if (c == '[') {
                List<Object> l = new ArrayList<>();
                i++; ws();
                if (s.charAt(i) == ']') { i++; return l; }
                while (true) {
                    l.add(value());
                    ws();
                    if (s.charAt(i) == ',') { i++; continue; }
                    expect(']');
                    return l;
                }
            }
            if (c == '"') return str();
            if (s.startsWith("true", i)) { i += 4; return Boolean.TRUE; }
            if (s.startsWith("false", i)) { i += 5; return Boolean.FALSE; }
            if (s.startsWith("null", i)) { i += 4; return null; }
            int st = i;
            while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
            return Double.parseDouble(s.substring(st, i));
        }
        void expect(char c) {
            if (s.charAt(i) != c) throw new IllegalArgumentException("expected " + c + " at " + i);
            i++;
        }
        String str() {
            expect('"');
            StringBuilder b = new StringBuilder();
            while (true) {
                char c = s.charAt(i++);
                if (c == '"') return b.toString();
                if (c == '\\') {
                    char e = s.charAt(i++);
                    switch (e) {
                        case 'n': b.append('\n'); break;
                        case 'r': b.append('\r'); break;
                        case 't': b.append('\t'); break;
                        case 'b': b.append('\b'); break;
                        case 'f': b.append('\f'); break;
                        case 'u': b.append((char) Integer.parseInt(s.substring(i, i + 4), 16)); i += 4; break;
                        default: b.append(e);
                    }
                } else {
                    b.append(c);
                }
            }
        }

        static String write(Object v) {
            StringBuilder b = new StringBuilder();
            write(b, v);
            return b.toString();
        }
        @SuppressWarnings("unchecked")
        static void write(StringBuilder b, Object v) {
            if (v == null) { b.append("null"); return; }
            if (v instanceof Boolean || v instanceof Integer || v instanceof Long) { b.append(v); return; }
            if (v instanceof Map) {
                b.append('{');
                boolean first = true;
                for (Map.Entry<String, Object> e : ((Map<String, Object>) v).entrySet()) {
                    if (!first) b.append(',');
                    first = false;
                    write(b, e.getKey());
                    b.append(':');
                    write(b, e.getValue());
                }
                b.append('}');
                return;
            }
            if (v instanceof List) {
                b.append('[');
                boolean first = true;
                for (Object o : (List<Object>) v) {
                    if (!first) b.append(',');
                    first = false;
                    write(b, o);
                }
                b.append(']');
                return;
            }
            String s = v.toString();
            b.append('"');
            for (char c : s.toCharArray()) {
                if (c == '"' || c == '\\') b.append('\\').append(c);
                else if (c == '\n') b.append("\\n");
                else if (c == '\r') b.append("\\r");
                else if (c == '\t') b.append("\\t");
                else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                else b.append(c);
            }
            b.append('"');
        }
    }

    // ---- TLS material ----
    static List<X509Certificate> certs(String pem) throws Exception {
        List<X509Certificate> out = new ArrayList<>();
        if (pem == null || pem.isBlank()) return out;
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        for (java.security.cert.Certificate c : cf.generateCertificates(
                new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
            out.add((X509Certificate) c);
        }
        return out;
    }

    static PrivateKey privateKey(String pkcs8b64) throws Exception {
        byte[] der = Base64.getDecoder().decode(pkcs8b64);
        Exception last = null;
        for (String alg : new String[] {"RSA", "EC", "Ed25519", "Ed448", "DSA", "RSASSA-PSS"}) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (Exception e) {
                last = e;
            }
        }
        throw new GeneralSecurityException("unsupported private key type", last);
    }

    static final X509ExtendedTrustManager TRUST_ALL = new X509ExtendedTrustManager() {
        public void checkClientTrusted(X509Certificate[] c, String a, Socket s) {}
        public void checkServerTrusted(X509Certificate[] c, String a, Socket s) {}
        public void checkClientTrusted(X509Certificate[] c, String a, SSLEngine e) {}
        public void checkServerTrusted(X509Certificate[] c, String a, SSLEngine e) {}
        public void checkClientTrusted(X509Certificate[] c, String a) {}
        public void checkServerTrusted(X509Certificate[] c, String a) {}
        public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
    };

    @SuppressWarnings("unchecked")
    static SSLContext context(Map<String, Object> r) throws Exception {
        KeyManager[] kms = null;
        if (Boolean.TRUE.equals(r.get("client_auth"))) {
            char[] pw = "in-memory".toCharArray();
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            String alias = r.get("alias") == null ? "client" : r.get("alias").toString();
            List<X509Certificate> chain = certs((String) r.get("chain_pem"));
            if (r.get("key_pkcs8_b64") != null && !chain.isEmpty()) {
                ks.setKeyEntry(alias, privateKey((String) r.get("key_pkcs8_b64")), pw,
                        chain.toArray(new X509Certificate[0]));
            }
            String alg = r.get("key_manager") == null ? "SunX509" : r.get("key_manager").toString();
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(alg);
            kmf.init(ks, pw);
            kms = kmf.getKeyManagers();
        }
        TrustManager[] tms;
        Object trust = r.get("trust_pem");
        if (trust == null || Boolean.TRUE.equals(r.get("ignore_validation_errors"))) {
            tms = new TrustManager[] {TRUST_ALL};
        } else {
            KeyStore ts = KeyStore.getInstance("PKCS12");
            ts.load(null, null);
            int n = 0;
            for (Object pem : (List<Object>) trust) {
                for (X509Certificate c : certs((String) pem)) {
                    ts.setCertificateEntry("trusted-" + (n++), c);
                }
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(ts);
            tms = tmf.getTrustManagers();
        }
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kms, tms, null);
        return ctx;
    }

    // ---- one southbound call ----
    @SuppressWarnings("unchecked")
    static Map<String, Object> call(Map<String, Object> r) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", r.get("id"));
        long t0 = System.nanoTime();
        String stage = "setup";
        Socket raw = null;
        try {
            String host = r.get("host").toString();
            int port = ((Number) r.get("port")).intValue();
            int timeout = r.get("timeout_ms") == null ? 10000 : ((Number) r.get("timeout_ms")).intValue();
            boolean tls = !Boolean.FALSE.equals(r.get("tls"));
            SSLContext ctx = tls ? context(r) : null;
            stage = "connect";
            raw = new Socket();
            raw.connect(new InetSocketAddress(host, port), timeout);
            raw.setSoTimeout(timeout);
            out.put("local_port", raw.getLocalPort());
            out.put("remote_ip", raw.getInetAddress().getHostAddress());
            Socket sock = raw;
            if (tls) {
                stage = "handshake";
                SSLSocket ssl = (SSLSocket) ctx.getSocketFactory().createSocket(raw, host, port, true);
                List<Object> protocols = (List<Object>) r.get("protocols");
                if (protocols != null && !protocols.isEmpty()) {
                    ssl.setEnabledProtocols(protocols.stream().map(Object::toString).toArray(String[]::new));
                }
                List<Object> ciphers = (List<Object>) r.get("ciphers");
                if (ciphers != null && !ciphers.isEmpty()) {
                    ssl.setEnabledCipherSuites(ciphers.stream().map(Object::toString).toArray(String[]::new));
                }
                ssl.startHandshake();
                out.put("protocol", ssl.getSession().getProtocol());
                out.put("cipher", ssl.getSession().getCipherSuite());
                sock = ssl;
            }
            StringBuilder req = new StringBuilder();
            String method = r.get("method") == null ? "GET" : r.get("method").toString();
            byte[] body = r.get("body_b64") == null ? new byte[0] : Base64.getDecoder().decode((String) r.get("body_b64"));
            req.append(method).append(' ').append(r.get("path") == null ? "/" : r.get("path")).append(" HTTP/1.1\r\n");
            req.append("Host: ").append(host).append(':').append(port).append("\r\n");
            Map<String, Object> headers = (Map<String, Object>) r.get("headers");
            if (headers != null) {
                for (Map.Entry<String, Object> h : headers.entrySet()) {
                    String k = h.getKey().toLowerCase(Locale.ROOT);
                    if (k.equals("host") || k.equals("connection") || k.equals("content-length")
                            || k.equals("transfer-encoding")) continue;
                    req.append(h.getKey()).append(": ").append(h.getValue()).append("\r\n");
                }
            }
            if (body.length > 0 || !method.equals("GET")) req.append("Content-Length: ").append(body.length).append("\r\n");
            req.append("Connection: close\r\n\r\n");
            ByteArrayOutputStream wire = new ByteArrayOutputStream();
            wire.write(req.toString().getBytes(StandardCharsets.ISO_8859_1));
            wire.write(body);
            InputStream is = sock.getInputStream();
            try {
                OutputStream os = sock.getOutputStream();
                os.write(wire.toByteArray());
                os.flush();
            } catch (SSLException e) {
                throw e;
            } catch (IOException writeFailed) {
                // TLS 1.3: the server may have refused our certificate (alert, then close) before the request went
                // out; the alert is already in our receive queue: read it, as the MP's selector would.
                if (!tls) throw writeFailed;
                try {
                    is.read();
                } catch (SSLException alert) {
                    throw alert;
                } catch (IOException ignored) {
                    // nothing readable: report the write failure itself
                }
                throw writeFailed;
            }
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            byte[] chunk = new byte[8192];
            int n;
            try {
                while ((n = is.read(chunk)) > 0) {
                    buf.write(chunk, 0, n);
                    if (buf.size() > 0) stage = "response";
                }
            } catch (SSLException e) {
                // With TLS 1.3 the server's alert about our certificate arrives after our Finished, on the first read:
                // it is still the handshake that failed when nothing at all was received.
                if (buf.size() > 0) throw new IOException("response truncated: " + e.getMessage(), e);
                throw e;
            }
            stage = "response";
            parseResponse(buf.toByteArray(), out);
            out.put("ok", Boolean.TRUE);
        } catch (Exception e) {
            out.put("ok", Boolean.FALSE);
            out.put("stage", (e instanceof SSLException) ? "handshake" : stage);
            out.put("exception", e.getClass().getName());
            out.put("message", e.getMessage() == null ? e.toString() : e.getMessage());
            List<Object> stack = new ArrayList<>();
            for (StackTraceElement el : e.getStackTrace()) {
                stack.add(el.toString());
                if (stack.size() >= 12) break;
            }
            out.put("stack", stack);
        } finally {
            if (raw != null) {
                try { raw.close(); } catch (IOException ignored) { }
            }
            out.put("elapsed_ms", (System.nanoTime() - t0) / 1_000_000L);
        }
        return out;
    }

    static void parseResponse(byte[] data, Map<String, Object> out) throws IOException {
        int end = -1;
        for (int i = 0; i + 3 < data.length; i++) {
            if (data[i] == '\r' && data[i + 1] == '\n' && data[i + 2] == '\r' && data[i + 3] == '\n') { end = i; break; }
        }
        if (end < 0) throw new IOException("no HTTP response from the target (" + data.length + " bytes)");
        String head = new String(data, 0, end, StandardCharsets.ISO_8859_1);
        String[] lines = head.split("\r\n");
        String[] status = lines[0].split(" ", 3);
        out.put("status", Integer.parseInt(status[1]));
        out.put("reason", status.length > 2 ? status[2] : "");
        List<Object> headers = new ArrayList<>();
        boolean chunked = false;
        for (int i = 1; i < lines.length; i++) {
            int c = lines[i].indexOf(':');
            if (c <= 0) continue;
            String k = lines[i].substring(0, c).trim();
            String v = lines[i].substring(c + 1).trim();
            if (k.equalsIgnoreCase("transfer-encoding") && v.equalsIgnoreCase("chunked")) chunked = true;
            headers.add(Arrays.asList(k, v));
        }
        out.put("headers", headers);
        byte[] body = Arrays.copyOfRange(data, end + 4, data.length);
        if (chunked) body = dechunk(body);
        out.put("body_b64", Base64.getEncoder().encodeToString(body));
    }

    static byte[] dechunk(byte[] b) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int i = 0;
        while (i < b.length) {
            int eol = i;
            while (eol + 1 < b.length && !(b[eol] == '\r' && b[eol + 1] == '\n')) eol++;
            String sizeLine = new String(b, i, eol - i, StandardCharsets.ISO_8859_1).split(";")[0].trim();
            int size = sizeLine.isEmpty() ? 0 : Integer.parseInt(sizeLine, 16);
            if (size == 0) break;
            int start = eol + 2;
            out.write(b, start, Math.min(size, b.length - start));
            i = start + size + 2;
        }
        return out.toByteArray();
    }

    public static void main(String[] args) throws Exception {
        PrintStream stdout = new PrintStream(new FileOutputStream(FileDescriptor.out), false, "UTF-8");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        ExecutorService pool = Executors.newFixedThreadPool(8);
        synchronized (stdout) {
            stdout.println("{\"ready\":true,\"java\":" + Json.write(System.getProperty("java.version")) + "}");
            stdout.flush();
        }
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) continue;
            final String text = line;
            pool.submit(() -> {
                Map<String, Object> resp;
                try {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> req = (Map<String, Object>) Json.parse(text);
                    resp = call(req);
                } catch (Exception e) {
                    resp = new LinkedHashMap<>();
                    resp.put("ok", Boolean.FALSE);
                    resp.put("stage", "request");
                    resp.put("exception", e.getClass().getName());
                    resp.put("message", String.valueOf(e.getMessage()));
                }
                String s = Json.write(resp);
                synchronized (stdout) {
                    stdout.println(s);
                    stdout.flush();
                }
            });
        }
        pool.shutdown();
        pool.awaitTermination(30, TimeUnit.SECONDS);
    }
}
