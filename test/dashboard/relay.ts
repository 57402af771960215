/**
 * A TCP relay in front of Node-RED for one browser: `cut()` drops every connection it carries at
 * once, as a Wi-Fi blip would, while Node-RED and the other browsers notice nothing.
 */
import net from 'node:net';

export interface Relay {
  /** The relay's own address, to open the dashboard through. */
  url: string;
  /** Destroys every connection open now; new ones are relayed again. Resolves to how many there were. */
  cut(): number;
  close(): Promise<void>;
}

export async function startRelay(targetPort: number): Promise<Relay> {
  const open = new Set<net.Socket>();
  const server = net.createServer((browser) => {
    const red = net.connect(targetPort, '127.0.0.1');
    const end = () => {
      browser.destroy();
      red.destroy();
      open.delete(browser);
    };
    open.add(browser);
    browser.on('error', end).on('close', end);
    red.on('error', end).on('close', end);
    browser.pipe(red);
    red.pipe(browser);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  const cut = () => {
    const count = open.size;
    for (const socket of [...open]) socket.destroy();
    return count;
  };
  return {
    url: `http://127.0.0.1:${port}/`,
    cut,
    close: () =>
      new Promise<void>((resolve) => {
        cut();
        server.close(() => resolve());
      }),
  };
}
