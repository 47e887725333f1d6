// The operator console's entry: who is here, then one controller per concern, which talk to
// each other only through the bus (a change made anywhere refreshes the audit log; a
// programme change the queue).
import { $ } from "../dom.js";
import { Emitter } from "../events.js";
import { AuditController } from "./audit.js";
import { LibraryController } from "./library.js";
import { ListenersController } from "./listeners.js";
import { QueueController } from "./queue.js";
import { RequestsController } from "./requests.js";
import { ScheduleController } from "./schedule.js";
import { whoIsHere } from "./signin.js";

async function main() {
  const user = await whoIsHere();
  if (!user) return;
  $("console").hidden = false;
  $("console-nav").hidden = false;
  const bus = new Emitter();
  for (const controller of [new QueueController(bus), new LibraryController(bus), new ScheduleController(bus),
    new RequestsController(), new ListenersController(), new AuditController(bus)]) {
    controller.start();
  }
  document.body.dataset.ready = "true";
}

main();
