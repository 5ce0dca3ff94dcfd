import MailPlan
import Providers
print("mailplan")
