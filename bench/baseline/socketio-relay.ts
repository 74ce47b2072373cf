// The baseline relay for the capacity benchmark: the command relay as the product plan sketches it
// (../shared/seed/havatar-v2-plan.ro.md, "Command Relay Implementation Structure"): one Socket.IO
// server, namespace /robot for robots and /client for operators; a client's 'command' is relayed
// to its robot with `timestamp` and `id` added, the robot's 'response' goes back to that client.
// No validation, no authentication, no rate limits, no lease — only what the plan does. Two
// liberties, both in the baseline's favour: the plan's `logCommand` (a Redis write awaited per
// command) is a no-op here, and Express is left out (no routes are exercised).
//   node --import tsx bench/baseline/socketio-relay.ts [--port 0] [--host 127.0.0.1]
// Prints {"event":"listening","port":N} on stdout when ready.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { Server, type Socket } from 'socket.io';

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } } });

class CommandRelay {
  readonly server = createServer();
  readonly io = new Server(this.server);
  readonly robotConnections = new Map<string, Socket>();
  readonly clientConnections = new Map<string, Socket>();
  private nextId = 0;

  constructor() { this.setupWebSocket(); }

  setupWebSocket(): void {
    this.io.of('/robot').on('connection', (socket) => this.handleRobotConnection(socket));
    this.io.of('/client').on('connection', (socket) => this.handleClientConnection(socket));
  }

  handleRobotConnection(socket: Socket): void {
    const robotId = String(socket.handshake.query.robotId);
    this.robotConnections.set(robotId, socket);
    // The robot answers a command with a response for the client that sent it.
    socket.on('response', (response: { clientId?: string }) => {
      this.clientConnections.get(String(response.clientId))?.emit('response', response);
    });
    socket.on('disconnect', () => { if (this.robotConnections.get(robotId) === socket) this.robotConnections.delete(robotId); });
  }

  handleClientConnection(socket: Socket): void {
    const robotId = String(socket.handshake.query.robotId);
    const clientId = String(socket.handshake.query.clientId);
    this.clientConnections.set(clientId, socket);
    socket.on('command', (command: Record<string, unknown>) => void this.relayCommand(robotId, { ...command, clientId }));
    socket.on('disconnect', () => { if (this.clientConnections.get(clientId) === socket) this.clientConnections.delete(clientId); });
  }

  async relayCommand(robotId: string, command: Record<string, unknown>): Promise<void> {
    const robotSocket = this.robotConnections.get(robotId);
    if (robotSocket) {
      const startTime = Date.now();
      robotSocket.emit('command', { ...command, timestamp: startTime, id: this.generateCommandId() });
      await this.logCommand(robotId, command, startTime);
    }
  }

  generateCommandId(): string { return `cmd_${Date.now()}_${(this.nextId++).toString(36)}`; }

  /** The product plan's relay writes each command to Redis for latency monitoring; left out (favours the baseline). */
  async logCommand(_robotId: string, _command: unknown, _startTime: number): Promise<void> {}
}

const relay = new CommandRelay();
relay.server.listen(Number(values.port), values.host, () => {
  const a = relay.server.address();
  process.stdout.write(JSON.stringify({ event: 'listening', port: typeof a === 'object' && a ? a.port : 0 }) + '\n');
});
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => { void relay.io.close(); process.exit(0); });
