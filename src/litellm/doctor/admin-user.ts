import { repairLines } from '../../contracts/doctor.js';
import type { AdminUser } from '../db.js';
import { found, type Found } from './finding.js';

/**
 * LITELLM.md §4: with models in the DB, the UI login acts as the admin user (`default_user_id`, or
 * `$PROXY_ADMIN_ID`) with role proxy_admin; when its row is missing from LiteLLM_UserTable some
 * LiteLLM versions fail the login ("User not found", or a 500). Not applicable when config.yaml
 * says store_model_in_db: false.
 */
export function checkAdminUser(admin: AdminUser, storeModelInDb: boolean | undefined): Found[] {
  if (storeModelInDb === false) return [];
  if (!admin.exists) {
    return [
      found(
        'admin-user',
        admin.userId,
        'error',
        `LiteLLM's admin user ${admin.userId} is missing from LiteLLM_UserTable: the UI login fails ("User not found" or a 500).`,
        repairLines.adminUser(),
      ),
    ];
  }
  if (!admin.isProxyAdmin) {
    return [
      found(
        'admin-user',
        admin.userId,
        'error',
        `LiteLLM's admin user ${admin.userId} has role ${admin.role ?? 'none'} instead of proxy_admin: the UI login does not get admin rights.`,
        repairLines.adminUser(),
      ),
    ];
  }
  return [];
}
