// A JSSE HTTPS backend for the lab: one JVM serves several ports, each with its own server keystore and PKCS#12
// truststore; client authentication is REQUIRED (setNeedClientAuth). It answers 200 with the client certificate subject.
// The truststore is re-read when its file changes (checked at every handshake) and on demand through the control port
// ("reload NAME"), so a remediation that rewrites the truststore takes effect without restarting anything.
//
// Usage: java JsseBackend.java <config.properties>
//   control.port.file=<file to write the control port to>
//   backends=jsse-a,jsse-b
//   backend.<name>.port, .keystore, .keystore.password.file, .truststore, .truststore.password.file
import java.io.*;
import java.net.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.*;
import java.security.cert.*;
import java.util.*;
import java.util.concurrent.*;
import javax.net.ssl.*;

public class JsseBackend {

    static String readSecret(String path) throws IOException {
        return new String(Files.readAllBytes(Paths.get(path)), StandardCharsets.UTF_8).trim();
    }

    static void log(String msg) {
        System.err.println(new java.util.Date() + " " + msg);
        System.err.flush();
    }

    /** A trust manager that re-reads its PKCS#12 truststore when the file changes or when asked to. */
    static final class ReloadingTrustManager extends X509ExtendedTrustManager {
        final String name;
        final Path path;
        final Path passwordFile;
        volatile X509ExtendedTrustManager delegate;
        volatile String stamp = "";

        ReloadingTrustManager(String name, String path, String passwordFile) throws Exception {
            this.name = name;
            this.path = Paths.get(path);
            this.passwordFile = Paths.get(passwordFile);
            reload(true);
        }

        String currentStamp() {
            try {
                BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class);
                return a.lastModifiedTime().toMillis() + ":" + a.size() + ":" + a.fileKey();
            } catch (IOException e) {
                return "missing";
            }
        }

        synchronized String reload(boolean force) throws Exception {
            String now = currentStamp();
            if (!force && now.equals(stamp)) {
                return "unchanged";
            }
            KeyStore ks = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(path)) {
                ks.load(in, readSecret(passwordFile.toString()).toCharArray());
            }
            int trusted = 0;
            for (Enumeration<String> e = ks.aliases(); e.hasMoreElements();) {
                if (ks.isCertificateEntry(e.nextElement())) {
                    trusted++;
                }
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(ks);
            for (TrustManager tm : tmf.getTrustManagers()) {
                if (tm instanceof X509ExtendedTrustManager) {
                    delegate = (X509ExtendedTrustManager) tm;
                }
            }
            stamp = now;
            String msg = "truststore " + path + " loaded: " + trusted + " trusted certificate(s)";
            log(name + ": " + msg);
            return msg;
        }

        X509ExtendedTrustManager current() {
            try {
                reload(false);
            } catch (Exception e) {
                log(name + ": truststore reload failed, keeping the previous one: " + e);
            }
            return delegate;
        }

        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket s) throws CertificateException {
            current().checkClientTrusted(chain, authType, s);
        }
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine e) throws CertificateException {
            current().checkClientTrusted(chain, authType, e);
        }
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            current().checkClientTrusted(chain, authType);
        }
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket s) throws CertificateException {
            throw new CertificateException("server certificates are not checked by a backend");
        }
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine e) throws CertificateException {
            throw new CertificateException("server certificates are not checked by a backend");
        }
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("server certificates are not checked by a backend");
        }
        public X509Certificate[] getAcceptedIssuers() {
            return current().getAcceptedIssuers();
        }
    }

    static final Map<String, ReloadingTrustManager> TRUST = new ConcurrentHashMap<>();
    static final ExecutorService POOL = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r);
        t.setDaemon(true);
        return t;
    });

    static String jsonString(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }

    /**
     * A failed handshake: JSSE has sent its fatal alert. Closing at once with the client's last flight unread makes
     * the kernel answer with a reset, and on loopback a TLS 1.2 client is often still writing its Finished then: it
     * sees "Broken pipe" instead of the alert. A server across a network does not win that race, so the lab closes
     * as servers do (nginx's lingering close): output shut, the client's remaining bytes read, then closed.
     */
    static void lingeringClose(Socket raw) {
        try {
            raw.shutdownOutput();
            raw.setSoTimeout(2000);
            InputStream in = raw.getInputStream();
            byte[] buf = new byte[4096];
            while (in.read(buf) >= 0) {
                // discard the client's remaining bytes until it closes
            }
        } catch (IOException ignored) {
            // the client is gone
        } finally {
            try {
                raw.close();
            } catch (IOException ignored) {
                // nothing more to do
            }
        }
    }

    static void serve(String name, Socket raw, SSLContext ctx) {
        SSLSocket s;
        try {
            s = (SSLSocket) ctx.getSocketFactory().createSocket(raw, null, raw.getPort(), false);
            s.setUseClientMode(false);
            s.setNeedClientAuth(true);
            s.setSoTimeout(15000);
            s.startHandshake();
        } catch (Exception e) {
            log(name + ": connection failed: " + e);
            lingeringClose(raw);
            return;
        }
        try (Socket closeRaw = raw; SSLSocket sock = s) {
            BufferedReader in = new BufferedReader(new InputStreamReader(sock.getInputStream(), StandardCharsets.ISO_8859_1));
            String requestLine = in.readLine();
            if (requestLine == null) {
                return;
            }
            String line;
            while ((line = in.readLine()) != null && !line.isEmpty()) {
                // headers are read and ignored
            }
            String subject = "";
            try {
                java.security.cert.Certificate[] peer = sock.getSession().getPeerCertificates();
                subject = ((X509Certificate) peer[0]).getSubjectX500Principal().getName();
            } catch (SSLPeerUnverifiedException e) {
                subject = "";
            }
            String[] parts = requestLine.split(" ");
            String path = parts.length > 1 ? parts[1] : "/";
            String body = "{\"backend\":" + jsonString(name) + ",\"client_subject\":" + jsonString(subject)
                    + ",\"path\":" + jsonString(path) + ",\"protocol\":" + jsonString(sock.getSession().getProtocol()) + "}";
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            OutputStream out = sock.getOutputStream();
            out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + bytes.length
                    + "\r\nServer: lab-jsse-backend\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.write(bytes);
            out.flush();
        } catch (Exception e) {
            log(name + ": connection failed: " + e);
        }
    }

    static void listen(String name, int port, SSLContext ctx) throws IOException {
        ServerSocket server = new ServerSocket(port, 50, InetAddress.getByName("127.0.0.1"));
        log(name + ": listening on 127.0.0.1:" + port + " (client auth required)");
        Thread t = new Thread(() -> {
            while (true) {
                try {
                    Socket s = server.accept();
                    POOL.submit(() -> serve(name, s, ctx));
                } catch (IOException e) {
                    log(name + ": accept failed: " + e);
                }
            }
        }, "accept-" + name);
        t.start();
    }

    static void control(ServerSocket server) {
        while (true) {
            try (Socket s = server.accept()) {
                s.setSoTimeout(10000);
                BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                PrintWriter out = new PrintWriter(new OutputStreamWriter(s.getOutputStream(), StandardCharsets.UTF_8), true);
                String line = in.readLine();
                if (line == null) {
                    continue;
                }
                String[] cmd = line.trim().split("\\s+");
                if (cmd[0].equals("ping")) {
                    out.println("ok pong");
                } else if (cmd[0].equals("reload") && cmd.length == 2) {
                    ReloadingTrustManager tm = TRUST.get(cmd[1]);
                    if (tm == null) {
                        out.println("error unknown backend " + cmd[1]);
                    } else {
                        try {
                            out.println("ok " + tm.reload(true));
                        } catch (Exception e) {
                            out.println("error truststore " + tm.path + " could not be loaded (previous one kept): " + e);
                        }
                    }
                } else {
                    out.println("error unknown command");
                }
            } catch (IOException e) {
                log("control: " + e);
            }
        }
    }

    public static void main(String[] args) throws Exception {
        Properties conf = new Properties();
        try (InputStream in = new FileInputStream(args[0])) {
            conf.load(in);
        }
        for (String name : conf.getProperty("backends").split(",")) {
            String p = "backend." + name + ".";
            KeyStore ks = KeyStore.getInstance("PKCS12");
            char[] kpw = readSecret(conf.getProperty(p + "keystore.password.file")).toCharArray();
            try (InputStream in = new FileInputStream(conf.getProperty(p + "keystore"))) {
                ks.load(in, kpw);
            }
            KeyManagerFactory kmf = KeyManagerFactory.getInstance("SunX509");
            kmf.init(ks, kpw);
            ReloadingTrustManager tm = new ReloadingTrustManager(name, conf.getProperty(p + "truststore"),
                    conf.getProperty(p + "truststore.password.file"));
            TRUST.put(name, tm);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), new TrustManager[] {tm}, null);
            // No session resumption: every connection runs a full handshake with the current truststore.
            ctx.getServerSessionContext().setSessionCacheSize(1);
            ctx.getServerSessionContext().setSessionTimeout(1);
            listen(name, Integer.parseInt(conf.getProperty(p + "port")), ctx);
        }
        ServerSocket controlServer = new ServerSocket(0, 10, InetAddress.getByName("127.0.0.1"));
        Path portFile = Paths.get(conf.getProperty("control.port.file"));
        Path tmp = Paths.get(portFile + ".tmp");
        Files.write(tmp, Integer.toString(controlServer.getLocalPort()).getBytes(StandardCharsets.US_ASCII));
        Files.move(tmp, portFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        log("control port " + controlServer.getLocalPort());
        control(controlServer);
    }
}
