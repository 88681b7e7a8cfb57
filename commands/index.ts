import type { AnyCommand } from '../src/chat/command.js';
import bringup from './bringup.js';
import doctor from './doctor.js';
import ack from './ack.js';
import alerts from './alerts.js';
import help from './help.js';
import jobs from './jobs.js';
import log from './log.js';
import models from './models.js';
import repair from './repair.js';
import smoke from './smoke.js';
import silence from './silence.js';
import start from './start.js';
import status from './status.js';
import stop from './stop.js';
import vram from './vram.js';

/** Every slash command, in the order /help lists them. */
export const commands: readonly AnyCommand[] = [status, models, vram, start, stop, smoke, doctor, bringup, repair, jobs, alerts, ack, silence, log, help];
