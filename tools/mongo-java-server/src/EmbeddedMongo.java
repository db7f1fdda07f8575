import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

/**
 * Runs mongo-java-server for development and tests.
 *
 * Usage: EmbeddedMongo --backend memory|h2 [--file PATH] [--host 127.0.0.1] [--port 0] [--watch-stdin true|false]
 *
 * Prints one JSON line {"event":"listening",...} on stdout once it accepts connections.
 * It stops when its standard input reaches end-of-file: the parent keeps the pipe open, and the kernel closes it
 * when the parent dies for any reason (SIGKILL included), so the server can never outlive its parent.
 */
public final class EmbeddedMongo {

    /** Reports MongoDB 6.0 (wire version 17): driver 7.x refuses the default wire version 8 of 1.47.0. */
    private static final MongoVersion MONGO_6_0 = new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(6, 0, 0);
        }

        @Override
        public int getWireVersion() {
            return 17;
        }
    };

    public static void main(String[] args) throws Exception {
        String backendName = "memory";
        String file = null;
        String host = "127.0.0.1";
        int port = 0;
        boolean watchStdin = true;
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--backend" -> { backendName = value; i++; }
                case "--file" -> { file = value; i++; }
                case "--host" -> { host = value; i++; }
                case "--port" -> { port = Integer.parseInt(value); i++; }
                case "--watch-stdin" -> { watchStdin = Boolean.parseBoolean(value); i++; }
                default -> fail("unknown argument: " + args[i]);
            }
        }

        MongoBackend backend = switch (backendName) {
            case "memory" -> new MemoryBackend();
            case "h2" -> {
                if (file == null) fail("--backend h2 needs --file PATH");
                yield new H2Backend(file);
            }
            default -> throw new IllegalArgumentException("unknown backend: " + backendName);
        };
        backend.version(MONGO_6_0);

        MongoServer server = new MongoServer(backend);
        server.bind(new InetSocketAddress(host, port));
        InetSocketAddress address = server.getLocalAddress();

        AtomicBoolean stopped = new AtomicBoolean(false);
        Runnable stop = () -> {
            if (stopped.compareAndSet(false, true)) {
                server.shutdownNow();  // also closes the backend: H2 commits and closes its file
            }
        };
        Runtime.getRuntime().addShutdownHook(new Thread(stop, "embedded-mongo-shutdown"));

        System.out.println("{\"event\":\"listening\",\"host\":\"" + address.getHostString() + "\",\"port\":"
                + address.getPort() + ",\"backend\":\"" + backendName + "\",\"version\":\"6.0.0\"}");
        System.out.flush();

        if (watchStdin) {
            waitForEndOfInput(System.in);
            stop.run();
            System.exit(0);
        }
        // without the stdin watch the server runs until it is signalled (the shutdown hook stops it)
        Thread.currentThread().join();
    }

    private static void waitForEndOfInput(InputStream in) {
        byte[] buffer = new byte[256];
        try {
            while (in.read(buffer) >= 0) {
                // input is ignored: only its end matters
            }
        } catch (IOException e) {
            // a broken pipe means the same as end of input
        }
    }

    private static void fail(String message) {
        System.err.println("EmbeddedMongo: " + message);
        System.exit(2);
    }
}
