/**
 * Small apps of each kind the @imgsdk/apps constructs build, written into a temp
 * directory as a user's project would hold them: a Node.js server with an npm
 * dependency in node_modules, a Python server, a static site, a jar compiled here
 * with javac, a C server compiled here with gcc. Each answers GET / with a line
 * naming its kind.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What each app answers on GET /. */
export const ANSWERS = {
  node: 'hello from node via greet',
  python: 'hello from python',
  site: 'hello from a static site',
  jvm: 'hello from the jvm',
  binary: 'hello from c',
} as const;

export type AppKind = keyof typeof ANSWERS;

function write(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

/** Writes every app under `root` (and compiles the jar and the C program); the paths a construct takes. */
export function writeApps(root: string): { node: string; python: string; site: string; jar: string; binary: string } {
  const node = join(root, 'node-app');
  write(join(node, 'node_modules', 'greet', 'package.json'), '{ "name": "greet", "version": "1.0.0", "main": "index.js" }\n');
  write(join(node, 'node_modules', 'greet', 'index.js'), 'module.exports = (who) => `hello from ${who} via greet`;\n');
  write(join(node, 'package.json'), '{ "name": "node-app", "version": "1.0.0", "dependencies": { "greet": "1.0.0" } }\n');
  write(
    join(node, 'server.js'),
    `const http = require('node:http');
const greet = require('greet');
http.createServer((req, res) => res.end(greet('node') + '\\n')).listen(Number(process.env.PORT));
`,
  );

  const python = join(root, 'py-app');
  write(
    join(python, 'main.py'),
    `import http.server, os

class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"${ANSWERS.python}\\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

http.server.HTTPServer(("", int(os.environ["PORT"])), Hello).serve_forever()
`,
  );

  const site = join(root, 'site');
  write(join(site, 'index.html'), `${ANSWERS.site}\n`);

  const jvm = join(root, 'jvm');
  write(
    join(jvm, 'src', 'Hello.java'),
    `import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;

public class Hello {
    public static void main(String[] args) throws Exception {
        HttpServer s = HttpServer.create(new InetSocketAddress(Integer.parseInt(System.getenv("PORT"))), 0);
        s.createContext("/", x -> {
            byte[] body = "${ANSWERS.jvm}\\n".getBytes();
            x.sendResponseHeaders(200, body.length);
            x.getResponseBody().write(body);
            x.close();
        });
        s.start();
    }
}
`,
  );
  execFileSync('javac', ['--release', '17', '-d', join(jvm, 'classes'), join(jvm, 'src', 'Hello.java')]);
  execFileSync('jar', ['--create', '--file', join(jvm, 'hello.jar'), '--main-class', 'Hello', '-C', join(jvm, 'classes'), '.']);

  const c = join(root, 'c');
  write(
    join(c, 'hello.c'),
    `#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void stop(int sig) { (void)sig; _exit(0); }

int main(void) {
    const char *reply = "HTTP/1.0 200 OK\\r\\nContent-Length: ${ANSWERS.binary.length + 1}\\r\\n\\r\\n${ANSWERS.binary}\\n";
    signal(SIGTERM, stop);
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(getenv("PORT"))) };
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 16)) return 1;
    for (;;) {
        int c = accept(s, 0, 0);
        char buf[1024];
        if (c < 0) continue;
        if (read(c, buf, sizeof buf) > 0) write(c, reply, strlen(reply));
        close(c);
    }
}
`,
  );
  execFileSync('gcc', ['-O2', '-o', join(c, 'hello'), join(c, 'hello.c')]);
  return { node, python, site, jar: join(jvm, 'hello.jar'), binary: join(c, 'hello') };
}
