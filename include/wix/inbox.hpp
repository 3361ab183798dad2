// SPDX-License-Identifier: BSL-1.0
// Convenience header: everything a user of wix::inbox needs.
#pragma once

#include <wix/inbox/auth.hpp>
#include <wix/inbox/client.hpp>
#include <wix/inbox/codec.hpp>
#include <wix/inbox/conversation_cache.hpp>
#include <wix/inbox/error.hpp>
#include <wix/inbox/fan_out_observer.hpp>
#include <wix/inbox/message.hpp>
#include <wix/inbox/log_observer.hpp>
#include <wix/inbox/model.hpp>
#include <wix/inbox/observer.hpp>
#include <wix/inbox/options.hpp>
#include <wix/inbox/pager.hpp>
#include <wix/inbox/pool.hpp>
#include <wix/inbox/proxy.hpp>
#include <wix/inbox/rate_limit.hpp>
#include <wix/inbox/retry.hpp>
#include <wix/inbox/stats.hpp>
#include <wix/inbox/tls.hpp>
#include <wix/inbox/webhook_model.hpp>
#include <wix/inbox/webhooks.hpp>
