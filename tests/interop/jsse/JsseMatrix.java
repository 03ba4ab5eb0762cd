/*
 * JSSE client-certificate selection matrix: one JVM runs every case.
 *
 * Usage: java tests/interop/jsse/JsseMatrix.java <cases.json> [results.jsonl]
 * (a case may name its own server "port"; the default is the file's "port")
 *
 * For each case and each listed key manager ("SunX509", "PKIX") this program loads the case's PKCS#12 keystore,
 * builds an SSLContext with that KeyManagerFactory algorithm, and performs a real TLS handshake (protocol pinned to
 * the case's TLSv1.2 or TLSv1.3) against the server named in the file. The server (written in Python, pyOpenSSL)
 * requests a client certificate and advertises the case's acceptable-CA list; it picks that list from the SNI host
 * name the client sends, and after the handshake writes one line "certs=<n>" saying how many certificates it
 * received. This program records, per run: whether the handshake finished, the alias the real key manager chose,
 * the issuers and key types JSSE passed to the key manager (as JSSE parsed them off the wire), the chain length the
 * PKCS#12 keystore yields, and the server's line. Output: one JSON object per line.
 */

import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.security.auth.x500.X500Principal;

public class JsseMatrix {

    /** Delegates every call to the real JSSE key manager and records what the handshake asked it and what it chose. */
    static final class RecordingKeyManager extends X509ExtendedKeyManager {
        final X509ExtendedKeyManager real;
        final List<String> keyTypes = new ArrayList<>();
        final List<Principal> issuers = new ArrayList<>();
        boolean issuersNull = false;
        int calls = 0;
        String chosen = null;

        RecordingKeyManager(X509ExtendedKeyManager real) {
            this.real = real;
        }

        private void record(String[] types, Principal[] iss, String alias) {
            calls++;
            if (types != null) {
                for (String t : types) {
                    if (!keyTypes.contains(t)) {
                        keyTypes.add(t);
                    }
                }
            }
            if (iss == null) {
                issuersNull = true;
            } else if (issuers.isEmpty()) {
                issuers.addAll(Arrays.asList(iss));
            }
            if (alias != null && chosen == null) {
                chosen = alias;
            }
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] iss, Socket socket) {
            String alias = real.chooseClientAlias(keyType, iss, socket);
            record(keyType, iss, alias);
            return alias;
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, Principal[] iss, SSLEngine engine) {
            String alias = real.chooseEngineClientAlias(keyType, iss, engine);
            record(keyType, iss, alias);
            return alias;
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] iss) {
            return real.getClientAliases(keyType, iss);
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] iss) {
            return real.getServerAliases(keyType, iss);
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] iss, Socket socket) {
            return real.chooseServerAlias(keyType, iss, socket);
        }

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] iss, SSLEngine engine) {
            return real.chooseEngineServerAlias(keyType, iss, engine);
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return real.getCertificateChain(alias);
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return real.getPrivateKey(alias);
        }
    }

    /** The client does not judge the test server: this matrix is about what the client sends, not what it trusts. */
    static final class AcceptingTrustManager extends X509ExtendedTrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] c, String a) { }

        @Override
        public void checkServerTrusted(X509Certificate[] c, String a) { }

        @Override
        public void checkClientTrusted(X509Certificate[] c, String a, Socket s) { }

        @Override
        public void checkServerTrusted(X509Certificate[] c, String a, Socket s) { }

        @Override
        public void checkClientTrusted(X509Certificate[] c, String a, SSLEngine e) { }

        @Override
        public void checkServerTrusted(X509Certificate[] c, String a, SSLEngine e) { }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }

    // ---------------------------------------------------------------- minimal JSON reader / writer

    static final class Json {
        private final String s;
        private int i = 0;

        Json(String s) {
            this.s = s;
        }

        static Object parse(String text) {
            Json p = new Json(text);
            Object v = p.value();
            p.ws();
            if (p.i != p.s.length()) {
                throw new IllegalArgumentException("trailing data in JSON at offset " + p.i);
            }
            return v;
        }

        private void ws() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }

        private Object value() {
            ws();
            if (i >= s.length()) {
                throw new IllegalArgumentException("unexpected end of JSON");
            }
            char c = s.charAt(i);
            if (c == '{') {
                Map<String, Object> m = new LinkedHashMap<>();
                i++;
                ws();
                if (s.charAt(i) == '}') {
                    i++;
                    return m;
                }
                while (true) {
                    ws();
                    String k = string();
                    ws();
                    expect(':');
                    m.put(k, value());
                    ws();
                    if (s.charAt(i) == ',') {
                        i++;
                    } else {
                        expect('}');
                        return m;
                    }
                }
            }
            if (c == '[') {
                List<Object> l = new ArrayList<>();
                i++;
                ws();
                if (s.charAt(i) == ']') {
                    i++;
                    return l;
                }
                while (true) {
                    l.add(value());
                    ws();
                    if (s.charAt(i) == ',') {
                        i++;
                    } else {
                        expect(']');
                        return l;
                    }
                }
            }
            if (c == '"') {
                return string();
            }
            if (s.startsWith("true", i)) {
                i += 4;
                return Boolean.TRUE;
            }
            if (s.startsWith("false", i)) {
                i += 5;
                return Boolean.FALSE;
            }
            if (s.startsWith("null", i)) {
                i += 4;
                return null;
            }
            int start = i;
            while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) {
                i++;
            }
            if (start == i) {
                throw new IllegalArgumentException("bad JSON value at offset " + i);
            }
            return Long.parseLong(s.substring(start, i));
        }

        private void expect(char c) {
            if (i >= s.length() || s.charAt(i) != c) {
                throw new IllegalArgumentException("expected '" + c + "' in JSON at offset " + i);
            }
            i++;
        }

        private String string() {
            expect('"');
            StringBuilder b = new StringBuilder();
            while (true) {
                char c = s.charAt(i++);
                if (c == '"') {
                    return b.toString();
                }
                if (c == '\\') {
                    char e = s.charAt(i++);
                    switch (e) {
                        case 'n': b.append('\n'); break;
                        case 't': b.append('\t'); break;
                        case 'r': b.append('\r'); break;
                        case 'b': b.append('\b'); break;
                        case 'f': b.append('\f'); break;
                        case 'u':
                            b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                            i += 4;
                            break;
                        default: b.append(e);
                    }
                } else {
                    b.append(c);
                }
            }
        }

        static String quote(String v) {
            if (v == null) {
                return "null";
            }
            StringBuilder b = new StringBuilder("\"");
            for (char c : v.toCharArray()) {
                switch (c) {
                    case '"': b.append("\\\""); break;
                    case '\\': b.append("\\\\"); break;
                    case '\n': b.append("\\n"); break;
                    case '\r': b.append("\\r"); break;
                    case '\t': b.append("\\t"); break;
                    default:
                        if (c < 0x20 || c > 0x7e) {
                            b.append(String.format("\\u%04x", (int) c));
                        } else {
                            b.append(c);
                        }
                }
            }
            return b.append('"').toString();
        }
    }

    // ---------------------------------------------------------------- the matrix

    @SuppressWarnings("unchecked")
    static Map<String, Object> obj(Object o) {
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Object o) {
        return (List<Object>) o;
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: java JsseMatrix.java <cases.json> [results.jsonl]");
            System.exit(2);
        }
        Map<String, Object> spec = obj(Json.parse(Files.readString(Path.of(args[0]), StandardCharsets.UTF_8)));
        String host = (String) spec.get("host");
        int port = ((Long) spec.get("port")).intValue();
        int timeoutMs = spec.containsKey("timeout_ms") ? ((Long) spec.get("timeout_ms")).intValue() : 10000;
        // after the handshake, how long to wait for the server's line (or its alert); the handshake keeps timeoutMs
        readTimeoutMs = spec.containsKey("read_timeout_ms") ? ((Long) spec.get("read_timeout_ms")).intValue()
                : timeoutMs;
        Map<String, Object> keystores = obj(spec.get("keystores"));
        PrintStream out = args.length > 1
                ? new PrintStream(Files.newOutputStream(Path.of(args[1])), true, StandardCharsets.UTF_8)
                : System.out;

        Map<String, KeyStore> loaded = new HashMap<>();
        long t0 = System.nanoTime();
        List<Object> cases = list(spec.get("cases"));
        // Cases on different ports (a server per case) run at once, one thread per port; the cases of one port run
        // one after the other (an OpenSSL s_server serves one connection at a time). Results keep the case order.
        List<List<String>> results = new java.util.ArrayList<>();
        Map<Integer, List<Integer>> byPort = new java.util.LinkedHashMap<>();
        for (int i = 0; i < cases.size(); i++) {
            Map<String, Object> c = obj(cases.get(i));
            String ksName = (String) c.get("keystore");
            Map<String, Object> ksSpec = obj(keystores.get(ksName));
            if (!loaded.containsKey(ksName)) {
                KeyStore ks = KeyStore.getInstance("PKCS12");
                try (InputStream in = new FileInputStream((String) ksSpec.get("path"))) {
                    ks.load(in, ((String) ksSpec.get("password")).toCharArray());
                }
                loaded.put(ksName, ks);
            }
            int casePort = c.containsKey("port") ? ((Long) c.get("port")).intValue() : port;
            byPort.computeIfAbsent(casePort, k -> new java.util.ArrayList<>()).add(i);
            results.add(null);
        }
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(
                Math.max(1, Math.min(byPort.size(), 16)));
        List<java.util.concurrent.Future<?>> running = new java.util.ArrayList<>();
        for (Map.Entry<Integer, List<Integer>> group : byPort.entrySet()) {
            int casePort = group.getKey();
            running.add(pool.submit(() -> {
                for (int i : group.getValue()) {
                    Map<String, Object> c = obj(cases.get(i));
                    String ksName = (String) c.get("keystore");
                    char[] password = ((String) obj(keystores.get(ksName)).get("password")).toCharArray();
                    List<String> lines = new java.util.ArrayList<>();
                    for (Map.Entry<String, Object> e : obj(c.get("sni")).entrySet()) {
                        lines.add(runOne((String) c.get("id"), e.getKey(), (String) e.getValue(), loaded.get(ksName),
                                password, (String) c.get("protocol"), host, casePort, timeoutMs));
                    }
                    synchronized (results) {
                        results.set(i, lines);
                    }
                }
                return null;
            }));
        }
        for (java.util.concurrent.Future<?> f : running) {
            f.get();
        }
        pool.shutdown();
        int runs = 0;
        for (List<String> lines : results) {
            for (String line : lines) {
                out.println(line);
                runs++;
            }
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.err.println("JsseMatrix: " + runs + " handshakes in " + ms + " ms (java " + System.getProperty("java.version")
                + ")");
        if (out != System.out) {
            out.close();
        }
    }

    static int readTimeoutMs;

    /** One real key manager per keystore and algorithm (key managers are stateless between handshakes). */
    static final Map<String, X509ExtendedKeyManager> KEY_MANAGERS = new HashMap<>();

    static synchronized X509ExtendedKeyManager keyManager(String kmAlg, KeyStore ks, char[] password) throws Exception {
        String key = kmAlg + "@" + System.identityHashCode(ks);
        X509ExtendedKeyManager cached = KEY_MANAGERS.get(key);
        if (cached != null) {
            return cached;
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(kmAlg);
        kmf.init(ks, password);
        for (KeyManager km : kmf.getKeyManagers()) {
            if (km instanceof X509ExtendedKeyManager) {
                KEY_MANAGERS.put(key, (X509ExtendedKeyManager) km);
                return (X509ExtendedKeyManager) km;
            }
        }
        throw new IllegalStateException("no X509ExtendedKeyManager from " + kmAlg);
    }

    static String runOne(String id, String kmAlg, String sni, KeyStore ks, char[] password, String protocol,
                         String host, int port, int timeoutMs) {
        StringBuilder r = new StringBuilder("{");
        r.append("\"case\":").append(Json.quote(id));
        r.append(",\"km\":").append(Json.quote(kmAlg));
        r.append(",\"sni\":").append(Json.quote(sni));
        long start = System.nanoTime();
        RecordingKeyManager rec = null;
        String error = null;
        String negotiated = null;
        String serverLine = null;
        int chainLen = -1;
        try {
            X509ExtendedKeyManager real = keyManager(kmAlg, ks, password);
            // The chain JSSE will send for the keystore's key entry, exactly as the keystore builds it.
            for (String alias : java.util.Collections.list(ks.aliases())) {
                if (ks.isKeyEntry(alias)) {
                    java.security.cert.Certificate[] ch = ks.getCertificateChain(alias);
                    chainLen = ch == null ? 0 : ch.length;
                }
            }
            rec = new RecordingKeyManager(real);
            // A fresh context per handshake: no session is ever resumed, so every run gets a CertificateRequest.
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(new KeyManager[] {rec}, new javax.net.ssl.TrustManager[] {new AcceptingTrustManager()}, null);
            try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket()) {
                s.setTcpNoDelay(true);
                s.connect(new InetSocketAddress(host, port), timeoutMs);
                s.setSoTimeout(timeoutMs);
                SSLParameters p = s.getSSLParameters();
                p.setProtocols(protocol.split(","));  // one version, or a list as an MP offers it
                p.setServerNames(List.of(new SNIHostName(sni)));
                s.setSSLParameters(p);
                s.startHandshake();
                negotiated = s.getSession().getProtocol();
                s.setSoTimeout(readTimeoutMs);
                BufferedReader br = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
                serverLine = br.readLine();
            }
        } catch (Exception ex) {
            error = ex.getClass().getName() + ": " + ex.getMessage();
        }
        r.append(",\"ok\":").append(error == null);
        r.append(",\"error\":").append(Json.quote(error));
        r.append(",\"protocol\":").append(Json.quote(negotiated));
        r.append(",\"server_line\":").append(Json.quote(serverLine));
        r.append(",\"keystore_chain_len\":").append(chainLen);
        if (rec != null) {
            r.append(",\"km_calls\":").append(rec.calls);
            r.append(",\"alias\":").append(Json.quote(rec.chosen));
            r.append(",\"issuers_null\":").append(rec.issuersNull);
            r.append(",\"key_types\":[");
            for (int k = 0; k < rec.keyTypes.size(); k++) {
                r.append(k == 0 ? "" : ",").append(Json.quote(rec.keyTypes.get(k)));
            }
            r.append("],\"issuers\":[");
            for (int k = 0; k < rec.issuers.size(); k++) {
                Principal pr = rec.issuers.get(k);
                r.append(k == 0 ? "" : ",").append("{\"canonical\":");
                if (pr instanceof X500Principal) {
                    X500Principal xp = (X500Principal) pr;
                    r.append(Json.quote(xp.getName(X500Principal.CANONICAL)));
                    r.append(",\"rfc2253\":").append(Json.quote(xp.getName(X500Principal.RFC2253)));
                    r.append(",\"der\":").append(Json.quote(HexFormat.of().formatHex(xp.getEncoded())));
                } else {
                    r.append(Json.quote(pr.getName()));
                }
                r.append("}");
            }
            r.append("]");
        }
        r.append(",\"ms\":").append((System.nanoTime() - start) / 1_000_000);
        return r.append("}").toString();
    }
}
